// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {VaultFixture} from "./VaultFixture.sol";
import {StakingVault} from "../../contracts/staking/StakingVault.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";

contract StakingVaultTest is VaultFixture {
    function test_Constructor_RevertsOnZeroAddresses() public {
        vm.expectRevert(StakingVault.ZeroAddress.selector);
        new StakingVault(pha, IStakingHub(address(0)), MANAGER, GOVERNANCE);
        vm.expectRevert(StakingVault.ZeroAddress.selector);
        new StakingVault(pha, IStakingHub(address(hub)), address(0), GOVERNANCE);
    }

    function test_Metadata() public view {
        assertEq(vault.asset(), address(pha), "asset");
        assertEq(uint256(vault.decimals()), 24, "18 + offset 6");
    }

    function test_SetManager() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        vault.setManager(ALICE);
        vm.prank(GOVERNANCE);
        vm.expectRevert(StakingVault.ZeroAddress.selector);
        vault.setManager(address(0));
        vm.prank(GOVERNANCE);
        vault.setManager(ALICE);
        assertEq(vault.manager(), ALICE, "manager");
    }

    function test_Allocate_MovesIdleIntoPoolAndKeepsTotalAssets() public {
        depositAs(ALICE, 10_000 ether);
        allocate(poolA, 6_000 ether);
        assertEq(vault.idleAssets(), 4_000 ether, "idle");
        assertEq(vault.allocatedAssets(), 6_000 ether, "allocated");
        assertEq(vault.totalAssets(), 10_000 ether, "total");
        assertEq(hub.stakeOf(poolA, address(vault)), 6_000 ether, "pool position");
        assertTrue(hub.isEligible(WORKER_A), "backs the worker");
        uint256[] memory held = vault.pools();
        assertEq(held.length, 1, "one pool");
    }

    function test_Allocate_Reverts() public {
        depositAs(ALICE, 1_000 ether);
        vm.expectRevert(abi.encodeWithSelector(StakingVault.NotManager.selector, address(this)));
        vault.allocate(poolA, 1 ether);
        vm.startPrank(MANAGER);
        vm.expectRevert(StakingVault.ZeroAmount.selector);
        vault.allocate(poolA, 0);
        vm.expectRevert(abi.encodeWithSelector(StakingVault.InsufficientLiquidity.selector, 1_001 ether, 1_000 ether));
        vault.allocate(poolA, 1_001 ether);
        vm.stopPrank();
    }

    function test_Allocate_RevertsPastMaxPools() public {
        depositAs(ALICE, 100 ether);
        uint256 max = vault.MAX_POOLS();
        for (uint256 i; i < max; ++i) {
            uint256 id = createPool(address(uint160(0x7000 + i)), 0);
            allocate(id, 1 ether);
        }
        uint256 extra = createPool(ALICE, 0);
        vm.prank(MANAGER);
        vm.expectRevert(StakingVault.TooManyPools.selector);
        vault.allocate(extra, 1 ether);
    }

    function test_SharePrice_RisesWithRewardsFallsWithSlashes() public {
        depositAs(ALICE, 10_000 ether);
        allocate(poolA, 10_000 ether);
        uint256 unit = 10 ** vault.decimals();
        uint256 priceBefore = vault.convertToAssets(unit);

        creditFees(WORKER_A, 1_000 ether);
        hub.harvest(WORKER_A);
        assertEq(vault.totalAssets(), 10_900 ether, "reward net of 10% commission");
        uint256 priceAfterReward = vault.convertToAssets(unit);
        assertGe(priceAfterReward, priceBefore + 1, "price up");

        assertEq(vault.claimPoolRewards(), 900 ether, "claimed into idle");
        assertEq(vault.idleAssets(), 900 ether, "idle");
        assertEq(vault.totalAssets(), 10_900 ether, "claim keeps total");

        router.slashForEquivocation(WORKER_A, 1, address(0), 0);
        assertEq(vault.totalAssets(), 8_900 ether, "20% of the pool slashed");
        assertLe(vault.convertToAssets(unit), priceAfterReward - 1, "price down");
    }

    function test_MaxWithdraw_LimitedToIdle() public {
        depositAs(ALICE, 10_000 ether);
        allocate(poolA, 7_000 ether);
        assertEq(vault.maxWithdraw(ALICE), 3_000 ether, "idle only");
        assertEq(vault.maxRedeem(ALICE), vault.convertToShares(3_000 ether), "redeem idle only");
        vm.prank(ALICE);
        vm.expectRevert(
            abi.encodeWithSelector(ERC4626.ERC4626ExceededMaxWithdraw.selector, ALICE, 3_001 ether, 3_000 ether)
        );
        vault.withdraw(3_001 ether, ALICE, ALICE);
        vm.prank(ALICE);
        vault.withdraw(3_000 ether, ALICE, ALICE);
        assertEq(pha.balanceOf(ALICE), 3_000 ether, "paid");
        assertEq(vault.maxWithdraw(ALICE), 0, "no idle left");
    }

    function test_RedeemQueue_PaidAsPoolWithdrawalsComplete() public {
        depositAs(ALICE, 10_000 ether);
        depositAs(BOB, 10_000 ether);
        allocate(poolA, 20_000 ether);
        uint256 shares = vault.balanceOf(ALICE);

        vm.prank(ALICE);
        vm.expectEmit(address(vault));
        emit StakingVault.RedeemRequested(1, ALICE, ALICE, shares);
        uint256 id = vault.requestRedeem(shares, ALICE);
        assertEq(vault.balanceOf(address(vault)), shares, "escrowed");
        assertEq(vault.queuedAssets(), 10_000 ether, "owed");
        assertEq(vault.processRedeemQueue(10), 0, "no idle yet");

        vm.prank(MANAGER);
        vault.requestPoolWithdrawal(poolA, 10_000 ether);
        assertEq(vault.totalAssets(), 20_000 ether, "unbonding still counted");
        vm.warp(block.timestamp + UNBONDING);
        assertEq(vault.completePoolWithdrawals(), 10_000 ether, "collected");
        // Deposits arriving meanwhile cannot be taken by instant withdrawals ahead of the queue.
        assertEq(vault.availableLiquidity(), 0, "idle owed to queue");
        assertEq(vault.maxWithdraw(BOB), 0, "bob waits behind the queue");

        assertEq(vault.processRedeemQueue(10), 1, "paid");
        assertEq(pha.balanceOf(ALICE), 10_000 ether, "alice paid in full");
        assertEq(vault.redeemRequest(id).owner, address(0), "cleared");
        assertEq(vault.queuedShares(), 0, "queue empty");
        assertEq(vault.queueHead(), 1, "head advanced");
    }

    function test_RedeemQueue_BearsSlashesUntilPaid() public {
        depositAs(ALICE, 10_000 ether);
        allocate(poolA, 10_000 ether);
        uint256 aliceShares = vault.balanceOf(ALICE);
        vm.prank(ALICE);
        vault.requestRedeem(aliceShares, ALICE);
        router.slashForEquivocation(WORKER_A, 1, address(0), 0);
        uint256 held = hub.sharesOf(poolA, address(vault));
        vm.prank(MANAGER);
        vault.requestPoolWithdrawal(poolA, held);
        vm.warp(block.timestamp + UNBONDING);
        vault.completePoolWithdrawals();
        vault.processRedeemQueue(1);
        assertApproxEq(pha.balanceOf(ALICE), 8_000 ether, 1, "paid at the slashed price");
        assertLe(pha.balanceOf(ALICE), 8_000 ether, "never more");
    }

    function test_CancelRedeem() public {
        depositAs(ALICE, 1_000 ether);
        allocate(poolA, 1_000 ether);
        uint256 shares = vault.balanceOf(ALICE);
        vm.prank(ALICE);
        uint256 id = vault.requestRedeem(shares, BOB);
        vm.expectRevert(abi.encodeWithSelector(StakingVault.NotRequestOwner.selector, id, address(this)));
        vault.cancelRedeem(id);
        vm.prank(ALICE);
        vault.cancelRedeem(id);
        assertEq(vault.balanceOf(ALICE), shares, "returned");
        assertEq(vault.queuedShares(), 0, "unqueued");
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(StakingVault.UnknownRedeemRequest.selector, id));
        vault.cancelRedeem(id);
        // A cancelled entry is skipped by the queue.
        depositAs(BOB, 1 ether);
        assertEq(vault.processRedeemQueue(5), 0, "nothing to pay");
        assertEq(vault.queueHead(), 1, "skipped");
    }

    function test_RequestRedeem_Reverts() public {
        depositAs(ALICE, 1 ether);
        vm.startPrank(ALICE);
        vm.expectRevert(StakingVault.ZeroAmount.selector);
        vault.requestRedeem(0, ALICE);
        vm.expectRevert(StakingVault.ZeroAddress.selector);
        vault.requestRedeem(1, address(0));
        vm.stopPrank();
    }

    /// The manager walks away: after the grace period anyone unbonds, completes and pays the queue.
    function test_ForceUnbond_VaultNeverLocks() public {
        depositAs(ALICE, 6_000 ether);
        allocate(poolA, 3_000 ether);
        allocate(poolB, 3_000 ether);
        uint256 aliceShares = vault.balanceOf(ALICE);
        vm.prank(ALICE);
        vault.requestRedeem(aliceShares, ALICE);

        vm.expectRevert(
            abi.encodeWithSelector(StakingVault.GracePeriodNotOver.selector, block.timestamp + vault.QUEUE_GRACE_PERIOD())
        );
        vault.forceUnbond(poolA);
        vm.warp(block.timestamp + vault.QUEUE_GRACE_PERIOD());
        vm.expectRevert(abi.encodeWithSelector(StakingVault.NoPosition.selector, 99));
        vault.forceUnbond(99);

        vault.forceUnbond(poolA);
        vault.forceUnbond(poolB);
        vm.expectRevert(StakingVault.NoShortfall.selector);
        vault.forceUnbond(poolA);

        vm.warp(block.timestamp + UNBONDING);
        vault.completePoolWithdrawals();
        assertEq(vault.processRedeemQueue(1), 1, "paid");
        assertApproxEq(pha.balanceOf(ALICE), 6_000 ether, 2, "whole deposit back");
    }

    function test_ForceUnbond_QueueEmpty() public {
        vm.expectRevert(StakingVault.QueueEmpty.selector);
        vault.forceUnbond(poolA);
    }

    function test_ForceUnbond_CountsUnclaimedRewardsAsCover() public {
        depositAs(ALICE, 1_000 ether);
        allocate(poolA, 1_000 ether);
        creditFees(WORKER_A, 10_000 ether);
        hub.harvest(WORKER_A);
        uint256 tenth = vault.balanceOf(ALICE) / 10;
        vm.prank(ALICE);
        vault.requestRedeem(tenth, ALICE);
        vm.warp(block.timestamp + vault.QUEUE_GRACE_PERIOD());
        vm.expectRevert(StakingVault.NoShortfall.selector);
        vault.forceUnbond(poolA);
        vault.claimPoolRewards();
        assertEq(vault.processRedeemQueue(1), 1, "paid from rewards");
    }

    function test_RequestPoolWithdrawal_Reverts() public {
        depositAs(ALICE, 100 ether);
        allocate(poolA, 100 ether);
        vm.expectRevert(abi.encodeWithSelector(StakingVault.NotManager.selector, address(this)));
        vault.requestPoolWithdrawal(poolA, 1 ether);
        uint256 max = vault.MAX_PENDING_WITHDRAWALS();
        vm.startPrank(MANAGER);
        for (uint256 i; i < max; ++i) vault.requestPoolWithdrawal(poolA, 1 ether);
        vm.expectRevert(StakingVault.TooManyPendingWithdrawals.selector);
        vault.requestPoolWithdrawal(poolA, 1 ether);
        vm.stopPrank();
        assertEq(vault.pendingWithdrawals().length, max, "listed");
        assertEq(vault.totalAssets(), 100 ether, "unbonding counted");
    }

    function test_CompletePoolWithdrawals_SkipsLocked() public {
        depositAs(ALICE, 100 ether);
        allocate(poolA, 100 ether);
        vm.prank(MANAGER);
        vault.requestPoolWithdrawal(poolA, 10 ether);
        vm.warp(block.timestamp + 1 days);
        vm.prank(MANAGER);
        vault.requestPoolWithdrawal(poolA, 20 ether);
        vm.warp(block.timestamp + UNBONDING - 1 days);
        assertEq(vault.completePoolWithdrawals(), 10 ether, "only the first");
        assertEq(vault.pendingWithdrawals().length, 1, "second waits");
    }

    function test_ClaimPoolRewards_ForgetsEmptyPools() public {
        depositAs(ALICE, 100 ether);
        allocate(poolA, 100 ether);
        uint256 held = hub.sharesOf(poolA, address(vault));
        vm.prank(MANAGER);
        vault.requestPoolWithdrawal(poolA, held);
        vault.claimPoolRewards();
        assertEq(vault.pools().length, 0, "forgotten");
        assertEq(vault.totalAssets(), 100 ether, "unbonding still counted");
    }

    function test_Interface() public view {
        IERC4626 v = IERC4626(address(vault));
        assertEq(v.maxDeposit(ALICE), type(uint256).max, "no deposit cap");
        assertEq(v.maxMint(ALICE), type(uint256).max, "no mint cap");
    }
}
