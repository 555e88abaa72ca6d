// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IStakingHub} from "../../../contracts/staking/IStakingHub.sol";
import {MockWorkerRegistry} from "./MockWorkerRegistry.sol";

/// @notice Fills a StakingHub for the gas benchmark in a few transactions instead of thousands:
/// the state it leaves (positions, pools, weights) is what the same calls from separate accounts
/// leave, only the payer and pool operator is this contract. Spends its own PHA.
contract StakingBenchPopulator {
    /// @notice Stakes `amount` into `poolId` for each of `count` beneficiaries `address(first + i)`.
    function stakeForMany(IStakingHub hub, IERC20 pha, uint256 poolId, uint256 amount, uint160 first, uint256 count)
        external
    {
        pha.approve(address(hub), amount * count);
        for (uint256 i; i < count; ++i) {
            hub.stakeFor(poolId, amount, address(first + uint160(i)));
        }
    }

    /// @notice Opens `count` pools operated by this contract, pool i with worker `address(firstWorker + i)`
    /// and a stake of `baseStake + i * stakeStep`.
    function openPools(
        IStakingHub hub,
        MockWorkerRegistry registry,
        IERC20 pha,
        uint256 count,
        uint160 firstWorker,
        uint256 baseStake,
        uint256 stakeStep
    ) external {
        pha.approve(address(hub), type(uint256).max);
        for (uint256 i; i < count; ++i) {
            address worker = address(firstWorker + uint160(i));
            registry.setOperator(worker, address(this));
            uint256 poolId = hub.createPool(1_000);
            hub.addWorker(poolId, worker);
            hub.stake(poolId, baseStake + i * stakeStep);
        }
    }
}
