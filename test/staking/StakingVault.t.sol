// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {VaultFixture} from "./VaultFixture.sol";
import {StakingVault} from "../../contracts/staking/StakingVault.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";
import {IStakingVault} from "../../contracts/staking/IStakingVault.sol";

contract StakingVaultTest is VaultFixture {
    function test_Constructor_RevertsOnZeroAddresses() public {
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        new StakingVault(pha, IStakingHub(address(0)), MANAGER, GOVERNANCE);
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
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
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
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
        vm.expectRevert(abi.encodeWithSelector(IStakingVault.NotManager.selector, address(this)));
        vault.allocate(poolA, 1 ether);
        vm.startPrank(MANAGER);
        vm.expectRevert(ICommonErrors.ZeroAmount.selector);
        vault.allocate(poolA, 0);
        vm.expectRevert(abi.encodeWithSelector(IStakingVault.InsufficientLiquidity.selector, 1_001 ether, 1_000 ether));
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
        vm.expectRevert(IStakingVault.TooManyPools.selector);
        vault.allocate(extra, 1 ether);
    }

    function test_SharePrice_RisesWithRewardsFallsWithSlashes() public {
        depositAs(ALICE, 10_000 ether);
        allocate(poolA, 10_000 ether);
        uint256 unit = 10 ** vault.decimals();
        uint256 priceBefore = vault.convertToAssets(unit);

        creditFees(WORKER_A, 1_000 ether);
        hub.harvest(WORKER_A);
        assertEq(vault.grossAssets(), 10_900 ether, "reward net of 10% commission");
        assertEq(vault.totalAssets(), 10_000 ether, "locked when seen");
        vault.checkpoint();
        vm.warp(block.timestamp + vault.PROFIT_UNLOCK_PERIOD() / 3);
        assertApproxEq(vault.totalAssets(), 10_300 ether, 1, "a third unlocked");
        vm.warp(block.timestamp + vault.PROFIT_UNLOCK_PERIOD());
        assertEq(vault.totalAssets(), 10_900 ether, "all unlocked");
        uint256 priceAfterReward = vault.convertToAssets(unit);
        assertGe(priceAfterReward, priceBefore + 1, "price up");

        assertEq(vault.claimPoolRewards(), 900 ether, "claimed into idle");
        assertEq(vault.idleAssets(), 900 ether, "idle");
        assertEq(vault.totalAssets(), 10_900 ether, "claim keeps total");

        router.slashForEquivocation(WORKER_A, 1, address(0), 0);
        assertEq(vault.totalAssets(), 8_900 ether, "20% of the pool slashed");
        assertLe(vault.convertToAssets(unit), priceAfterReward - 1, "price down");
    }

    function test_InstantExits_Disabled() public {
        depositAs(ALICE, 10_000 ether);
        assertEq(vault.maxWithdraw(ALICE), 0, "no instant withdrawal");
        assertEq(vault.maxRedeem(ALICE), 0, "no instant redemption");
        vm.startPrank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(ERC4626.ERC4626ExceededMaxWithdraw.selector, ALICE, 1, 0));
        vault.withdraw(1, ALICE, ALICE);
        vm.expectRevert(abi.encodeWithSelector(ERC4626.ERC4626ExceededMaxRedeem.selector, ALICE, 1, 0));
        vault.redeem(1, ALICE, ALICE);
        vm.stopPrank();
    }

    function test_Losses_CountAtOnceAndEatLockedGainsFirst() public {
        depositAs(ALICE, 10_000 ether);
        allocate(poolB, 10_000 ether);
        creditFees(WORKER_B, 500 ether);
        hub.harvest(WORKER_B);
        vault.checkpoint();
        assertEq(vault.lockedProfit(), 500 ether, "gain locked");
        router.slashForTimeout(WORKER_B, 1, 100 ether, address(0), 0); // 1% of 10,000
        assertEq(vault.lockedProfit(), 400 ether, "loss taken from locked gains");
        assertEq(vault.totalAssets(), 10_000 ether, "price unchanged while gains cover it");
        router.slashForEquivocation(WORKER_B, 2, address(0), 0); // 20% of 9,900
        assertEq(vault.lockedProfit(), 0, "locked gains used up");
        assertEq(vault.totalAssets(), vault.grossAssets(), "the rest of the loss at once");
        assertEq(vault.totalAssets(), 10_400 ether - 1_980 ether, "gross after both slashes");
    }

    function test_Donation_IsStreamedNotInstant() public {
        depositAs(ALICE, 1_000 ether);
        pha.transfer(address(vault), 1_000 ether);
        assertEq(vault.totalAssets(), 1_000 ether, "donation locked");
        uint256 shares = depositAs(BOB, 1_000 ether);
        assertEq(shares, vault.balanceOf(ALICE), "a depositor right after gets the same price");
    }

    function test_RedeemQueue_PaidAsPoolWithdrawalsComplete() public {
        depositAs(ALICE, 10_000 ether);
        depositAs(BOB, 10_000 ether);
        allocate(poolA, 20_000 ether);
        uint256 shares = vault.balanceOf(ALICE);

        vm.prank(ALICE);
        vm.expectEmit(address(vault));
        emit IStakingVault.RedeemRequested(1, ALICE, ALICE, shares, 10_000 ether, uint64(block.timestamp + UNBONDING));
        uint256 id = vault.requestRedeem(shares, ALICE);
        assertEq(vault.balanceOf(address(vault)), shares, "escrowed");
        assertEq(vault.queuedAssets(), 10_000 ether, "owed");
        assertEq(vault.processRedeemQueue(10), 0, "no idle yet");

        // The request itself unbonded what idle PHA did not cover.
        assertEq(vault.pendingWithdrawals().length, 1, "unbonding for the queue");
        assertApproxEq(vault.totalAssets(), 20_000 ether, 1, "unbonding still counted");
        vm.warp(block.timestamp + UNBONDING);
        assertApproxEq(vault.completePoolWithdrawals(vault.pendingWithdrawals()), 10_000 ether, 1, "collected");
        // New allocations cannot take the idle PHA owed to the queue.
        assertEq(vault.availableLiquidity(), 0, "idle owed to queue");

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
        assertEq(hub.sharesOf(poolA, address(vault)), 0, "all unbonding for the queue");
        router.slashForEquivocation(WORKER_A, 1, address(0), 0);
        vm.warp(block.timestamp + UNBONDING);
        vault.completePoolWithdrawals(vault.pendingWithdrawals());
        vault.processRedeemQueue(1);
        assertApproxEq(pha.balanceOf(ALICE), 8_000 ether, 1, "paid at the slashed price");
        assertLe(pha.balanceOf(ALICE), 8_000 ether, "never more");
    }

    function test_RedeemQueue_NotBeforeTheUnbondingPeriod() public {
        depositAs(ALICE, 1_000 ether);
        uint256 shares = vault.balanceOf(ALICE);
        vm.prank(ALICE);
        vault.requestRedeem(shares, BOB);
        vm.warp(block.timestamp + UNBONDING - 1);
        assertEq(vault.processRedeemQueue(5), 0, "idle PHA, but not yet claimable");
        vm.warp(block.timestamp + 1);
        assertEq(vault.processRedeemQueue(5), 1, "paid");
        assertEq(pha.balanceOf(BOB), 1_000 ether, "to the receiver");
    }

    /// Gains seen after a request go to the holders who stay: the request pays its value when made,
    /// and the difference is streamed to the others rather than jumping the price.
    function test_RedeemQueue_PaysAtMostTheValueWhenRequested() public {
        depositAs(ALICE, 10_000 ether);
        depositAs(BOB, 10_000 ether);
        allocate(poolB, 10_000 ether);
        uint256 shares = vault.balanceOf(ALICE);
        vm.prank(ALICE);
        vault.requestRedeem(shares, ALICE);
        creditFees(WORKER_B, 2_000 ether);
        hub.harvest(WORKER_B);
        vm.warp(block.timestamp + UNBONDING);
        uint256 priceBefore = vault.convertToAssets(1e24);
        vault.processRedeemQueue(1);
        assertEq(pha.balanceOf(ALICE), 10_000 ether, "value when requested");
        assertApproxEq(vault.convertToAssets(1e24), priceBefore, 1, "no price jump at payment");
        vm.warp(block.timestamp + vault.PROFIT_UNLOCK_PERIOD());
        assertApproxEq(vault.previewRedeem(vault.balanceOf(BOB)), 12_000 ether, 2, "Bob gets the whole gain");
    }

    function test_RequestRedeem_Reverts() public {
        depositAs(ALICE, 1 ether);
        vm.startPrank(ALICE);
        vm.expectRevert(ICommonErrors.ZeroAmount.selector);
        vault.requestRedeem(0, ALICE);
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        vault.requestRedeem(1, address(0));
        vm.stopPrank();
    }

    /// The manager walks away: the redemption itself unbonds what idle PHA does not cover (from the
    /// positions in pool order), so anyone completes and pays the queue after the unbonding period.
    function test_RequestRedeem_UnbondsTheShortfallAtOnce_VaultNeverLocks() public {
        depositAs(ALICE, 6_000 ether);
        allocate(poolA, 3_000 ether);
        allocate(poolB, 3_000 ether);
        uint256 aliceShares = vault.balanceOf(ALICE);
        vm.prank(ALICE);
        vault.requestRedeem(aliceShares, ALICE);
        assertEq(vault.pendingWithdrawals().length, 2, "both positions unbonding");
        assertEq(hub.sharesOf(poolA, address(vault)) + hub.sharesOf(poolB, address(vault)), 0, "nothing left staked");
        vm.expectRevert(IStakingVault.NoShortfall.selector);
        vault.forceUnbond(poolA);

        vm.warp(block.timestamp + UNBONDING);
        vault.completePoolWithdrawals(vault.pendingWithdrawals());
        assertEq(vault.processRedeemQueue(1), 1, "paid");
        assertApproxEq(pha.balanceOf(ALICE), 6_000 ether, 2, "whole deposit back");
    }

    /// Only the shortfall is unbonded: idle PHA covers first, and the first pool covers what it can.
    function test_RequestRedeem_UnbondsOnlyTheShortfall() public {
        depositAs(ALICE, 6_000 ether);
        allocate(poolA, 2_000 ether);
        allocate(poolB, 2_000 ether);
        uint256 half = vault.balanceOf(ALICE) / 2;
        vm.prank(ALICE);
        vault.requestRedeem(half, ALICE); // 3,000: 2,000 idle + 1,000 from poolA
        assertEq(vault.pendingWithdrawals().length, 1, "one position touched");
        assertApproxEq(hub.stakeOf(poolA, address(vault)), 1_000 ether, 2, "poolA gives the rest");
        assertEq(hub.stakeOf(poolB, address(vault)), 2_000 ether, "poolB untouched");
        vm.warp(block.timestamp + UNBONDING);
        vault.completePoolWithdrawals(vault.pendingWithdrawals());
        assertEq(vault.processRedeemQueue(1), 1, "paid");
        assertApproxEq(pha.balanceOf(ALICE), 3_000 ether, 2, "half back");
    }

    /// A shortfall that appears after the request (the unbonding PHA slashed harder than the vault as
    /// a whole) is unbonded by anyone, at once.
    function test_ForceUnbond_CoversALaterShortfall() public {
        depositAs(ALICE, 6_000 ether);
        allocate(poolA, 3_000 ether);
        allocate(poolB, 3_000 ether);
        uint256 half = vault.balanceOf(ALICE) / 2;
        vm.prank(ALICE);
        vault.requestRedeem(half, ALICE); // all from poolA
        vm.expectRevert(IStakingVault.NoShortfall.selector);
        vault.forceUnbond(poolB);
        router.slashForEquivocation(WORKER_A, 1, address(0), 0); // 20% of poolA, its unbonding PHA included
        vm.expectRevert(abi.encodeWithSelector(IStakingVault.NoPosition.selector, 99));
        vault.forceUnbond(99);
        vault.forceUnbond(poolB);
        vm.expectRevert(IStakingVault.NoShortfall.selector);
        vault.forceUnbond(poolB);
        vm.warp(block.timestamp + UNBONDING);
        vault.completePoolWithdrawals(vault.pendingWithdrawals());
        assertEq(vault.processRedeemQueue(1), 1, "paid");
    }

    function test_ForceUnbond_QueueEmpty() public {
        vm.expectRevert(IStakingVault.QueueEmpty.selector);
        vault.forceUnbond(poolA);
    }

    function test_RequestRedeem_CountsUnclaimedRewardsAsCover() public {
        depositAs(ALICE, 1_000 ether);
        allocate(poolA, 1_000 ether);
        creditFees(WORKER_A, 10_000 ether);
        hub.harvest(WORKER_A);
        uint256 tenth = vault.balanceOf(ALICE) / 10;
        vm.prank(ALICE);
        vault.requestRedeem(tenth, ALICE);
        assertEq(vault.pendingWithdrawals().length, 0, "nothing unbonded");
        vm.expectRevert(IStakingVault.NoShortfall.selector);
        vault.forceUnbond(poolA);
        vault.claimPoolRewards();
        vm.warp(block.timestamp + UNBONDING);
        assertEq(vault.processRedeemQueue(1), 1, "paid from rewards");
    }

    function test_RequestPoolWithdrawal_RevertsAndHasNoCap() public {
        depositAs(ALICE, 100 ether);
        allocate(poolA, 100 ether);
        vm.expectRevert(abi.encodeWithSelector(IStakingVault.NotManager.selector, address(this)));
        vault.requestPoolWithdrawal(poolA, 1 ether);
        vm.startPrank(MANAGER);
        for (uint256 i; i < 50; ++i) vault.requestPoolWithdrawal(poolA, 1 ether);
        vm.stopPrank();
        assertEq(vault.pendingWithdrawals().length, 50, "listed");
        assertEq(vault.unbondingAssets(), 50 ether - 49, "valued together, a wei per request conservative");
    }

    function test_CompletePoolWithdrawals_Reverts() public {
        depositAs(ALICE, 100 ether);
        allocate(poolA, 100 ether);
        vm.prank(MANAGER);
        vault.requestPoolWithdrawal(poolA, 10 ether);
        uint256[] memory ids = vault.pendingWithdrawals();
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.StillUnbonding.selector, ids[0], block.timestamp + UNBONDING));
        vault.completePoolWithdrawals(ids);
        vm.warp(block.timestamp + UNBONDING);
        assertEq(vault.completePoolWithdrawals(ids), 10 ether, "collected");
        vm.expectRevert(abi.encodeWithSelector(IStakingVault.UnknownPoolWithdrawal.selector, ids[0]));
        vault.completePoolWithdrawals(ids);
    }

    function test_ClaimPoolRewards_ForgetsEmptyPools() public {
        depositAs(ALICE, 100 ether);
        allocate(poolA, 100 ether);
        uint256 held = hub.sharesOf(poolA, address(vault));
        vm.prank(MANAGER);
        vault.requestPoolWithdrawal(poolA, held);
        vault.claimPoolRewards();
        assertEq(vault.pools().length, 1, "kept while unbonding");
        assertEq(vault.totalAssets(), 100 ether, "unbonding still counted");
        vm.warp(block.timestamp + UNBONDING);
        vault.completePoolWithdrawals(vault.pendingWithdrawals());
        vault.claimPoolRewards();
        assertEq(vault.pools().length, 0, "forgotten");
        assertEq(vault.totalAssets(), 100 ether, "all idle");
    }

    function test_Interface() public view {
        IERC4626 v = IERC4626(address(vault));
        assertEq(v.maxDeposit(ALICE), type(uint256).max, "no deposit cap");
        assertEq(v.maxMint(ALICE), type(uint256).max, "no mint cap");
    }
}
