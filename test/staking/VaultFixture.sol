// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {StakingFixture} from "./StakingFixture.sol";
import {StakingVault} from "../../contracts/staking/StakingVault.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";

/// @notice A vault over the fixture's hub with two eligible pools to allocate to.
abstract contract VaultFixture is StakingFixture {
    address internal constant MANAGER = address(0x3A4);
    address internal constant WORKER_A = address(0x1001);
    address internal constant WORKER_B = address(0x1002);
    address internal constant OPERATOR_B = address(0x0E);

    StakingVault internal vault;
    uint256 internal poolA;
    uint256 internal poolB;

    function setUp() public virtual override {
        super.setUp();
        vault = new StakingVault(pha, IStakingHub(address(hub)), MANAGER, GOVERNANCE);
        poolA = createPool(OPERATOR, 1_000);
        addWorker(poolA, OPERATOR, WORKER_A);
        poolB = createPool(OPERATOR_B, 0);
        addWorker(poolB, OPERATOR_B, WORKER_B);
    }

    function depositAs(address account, uint256 assets) internal returns (uint256 shares) {
        pha.transfer(account, assets);
        vm.startPrank(account);
        pha.approve(address(vault), assets);
        shares = vault.deposit(assets, account);
        vm.stopPrank();
    }

    function allocate(uint256 poolId, uint256 amount) internal {
        vm.prank(MANAGER);
        vault.allocate(poolId, amount);
    }
}
