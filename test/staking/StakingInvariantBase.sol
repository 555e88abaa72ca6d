// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {PhalaToken} from "../../contracts/token/PhalaToken.sol";
import {StakingHub} from "../../contracts/staking/StakingHub.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {IWorkerRegistry} from "../../contracts/interfaces/IWorkerRegistry.sol";
import {MockRouter} from "./mocks/MockRouter.sol";
import {MockWorkerRegistry} from "./mocks/MockWorkerRegistry.sol";

/// @notice The deployment every staking invariant suite starts from: PHA held by the test, a mock
/// registry and router, and a hub wired to the router, owned by `hubOwner`.
abstract contract StakingInvariantBase is Test {
    address internal constant INVARIANT_TREASURY = address(0x7EA5);
    /// @dev PHA each suite's handler is given to act with.
    uint256 internal constant HANDLER_FUNDS = 100_000_000 ether;

    PhalaToken internal pha;
    MockWorkerRegistry internal registry;
    MockRouter internal router;
    StakingHub internal hub;

    /// @dev Deploys PHA, the mocks and a hub (minimum stake 1,000 PHA per worker, equivocation 30%,
    /// commission 0–50%) with the given unbonding period and commission delay.
    function deployHub(uint64 unbondingPeriod, uint64 commissionChangeDelay, address hubOwner) internal {
        pha = new PhalaToken(address(this));
        registry = new MockWorkerRegistry();
        router = new MockRouter(pha);
        hub = new StakingHub(
            pha,
            IWorkerRegistry(address(registry)),
            INVARIANT_TREASURY,
            IStakingHub.Params({
                minStakePerWorker: 1_000 ether,
                unbondingPeriod: unbondingPeriod,
                commissionChangeDelay: commissionChangeDelay,
                equivocationSlashBps: 3_000,
                minCommissionBps: 0,
                maxCommissionBps: 5_000,
                minBondPerWorker: 0
            }),
            hubOwner
        );
        router.setStaking(address(hub));
        vm.prank(hubOwner);
        hub.setRouter(address(router));
    }

    /// @dev Gives the handler its PHA and makes it the only fuzzed target.
    function useHandler(address handler) internal {
        pha.transfer(handler, HANDLER_FUNDS);
        targetContract(handler);
    }
}
