// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {VaultFixture} from "./VaultFixture.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";

/// @notice Issue 11's attacks on the vault, performed with the deployed parameters of
/// ignition/modules/AgentNetwork.ts (1-day unbonding, 1% timeout slash). Each test runs the attack
/// and shows it has no effect.
contract StakingVaultAttacksTest is VaultFixture {
    address internal constant ATTACKER = address(0xBAD);
    address internal constant CAROL = address(0xCA201);
    address internal constant DAVE = address(0xDA7E);

    function setUp() public override {
        super.setUp();
        IStakingHub.Params memory p = IStakingHub.Params({
            minStakePerWorker: 1_000 ether,
            unbondingPeriod: 1 days,
            commissionChangeDelay: 1 days,
            equivocationSlashBps: 2_000,
            minCommissionBps: 0,
            maxCommissionBps: 5_000,
            minBondPerWorker: 0
        });
        vm.prank(GOVERNANCE);
        hub.setParams(p);
    }

    // ---------------------------------------------------------------- item 1: harvest sandwich

    /// Carol's 100k PHA is staked; 900 PHA of fees wait in the router. The attacker deposits 1M
    /// (flash-loanable), harvests and leaves (measured on main: 818 of the 900). Now there is no
    /// instant exit, the gain is locked when seen, and a queued exit pays at most its value when
    /// requested: the attacker gets back at most its deposit, and Carol gets the whole reward.
    function test_HarvestSandwich_CapturesNothing() public {
        depositAs(CAROL, 100_000 ether);
        allocate(poolB, 100_000 ether);
        creditFees(WORKER_B, 900 ether);

        uint256 deposit = 1_000_000 ether;
        uint256 shares = depositAs(ATTACKER, deposit);
        hub.harvest(WORKER_B);
        uint256 received = exit(ATTACKER, shares);

        assertLe(received, deposit, "attacker gets back at most its deposit");
        // Start the unlock and let it run (through low-level calls so this file also runs on main).
        (bool ok,) = address(vault).call(abi.encodeWithSignature("checkpoint()"));
        (, bytes memory period) = address(vault).staticcall(abi.encodeWithSignature("PROFIT_UNLOCK_PERIOD()"));
        if (ok) vm.warp(block.timestamp + abi.decode(period, (uint256)));
        assertApproxEq(vault.previewRedeem(vault.balanceOf(CAROL)), 100_900 ether, 2, "Carol earns the whole reward");
    }

    /// Depositing just before a harvest is worth exactly as much as depositing just after it.
    function test_HarvestSandwich_DepositBeforeOrAfterHarvestIsTheSame() public {
        depositAs(CAROL, 100_000 ether);
        allocate(poolB, 100_000 ether);
        creditFees(WORKER_B, 900 ether);
        uint256 before = depositAs(ATTACKER, 1_000_000 ether);
        hub.harvest(WORKER_B);
        uint256 afterHarvest = depositAs(DAVE, 1_000_000 ether);
        assertEq(before, afterHarvest, "same shares for the same PHA");
    }

    /// Dave sees a timeout slash coming (a request of the vault's pool passed its deadline) and
    /// tries to leave from idle PHA first (on main he got all 50k and left Carol the whole 500 PHA
    /// loss). His exit now waits out the unbonding period and bears the slash with everyone else.
    function test_PredictableSlash_CannotBeDodged() public {
        depositAs(CAROL, 50_000 ether);
        uint256 daveShares = depositAs(DAVE, 50_000 ether);
        allocate(poolA, 50_000 ether);

        uint256 received = pha.balanceOf(DAVE);
        uint256 max = vault.maxRedeem(DAVE);
        if (max != 0) {
            vm.prank(DAVE);
            vault.redeem(max, DAVE, DAVE);
        }
        uint256 left = vault.balanceOf(DAVE);
        if (left != 0) {
            vm.prank(DAVE);
            vault.requestRedeem(left, DAVE);
        }
        router.slashForTimeout(WORKER_A, 1, 500 ether, address(0), 0); // 1% of 50k
        vm.warp(block.timestamp + 1 days);
        vault.processRedeemQueue(1);
        received = pha.balanceOf(DAVE) - received;

        assertApproxEq(received, 49_750 ether, 2, "Dave bears half the loss");
        assertApproxEq(vault.previewRedeem(vault.balanceOf(CAROL)), 49_750 ether, 2, "Carol bears only half");
        assertEq(daveShares, vault.balanceOf(CAROL), "equal holders");
    }

    // ---------------------------------------------------------------- item 3: forceUnbond griefing

    /// Queue half the vault (which unbonds it), then cancel (on an old main: half the vault left
    /// unbonding, earning nothing, at no cost). A request is final.
    function test_ForceUnbondThenCancel_NotPossible() public {
        depositAs(CAROL, 10_000 ether);
        uint256 shares = depositAs(ATTACKER, 10_000 ether);
        allocate(poolA, 20_000 ether);
        vm.prank(ATTACKER);
        uint256 id = vault.requestRedeem(shares, ATTACKER);
        assertEq(vault.pendingWithdrawals().length, 1, "the redemption unbonded its shortfall");

        vm.prank(ATTACKER);
        (bool cancelled,) = address(vault).call(abi.encodeWithSignature("cancelRedeem(uint256)", id));
        assertFalse(cancelled, "no cancellation");
        assertEq(vault.queuedShares(), shares, "the forced unbonding still serves a real exit");
        assertEq(vault.balanceOf(ATTACKER), 0, "shares stay escrowed");
    }

    /// 40 tiny redemptions each followed by forceUnbond (on an old main, 32 of them
    /// filled every pending-withdrawal slot and the manager's withdrawals and forceUnbond reverted
    /// TooManyPendingWithdrawals for a whole unbonding period). Nothing can fill up now.
    function test_TinyRedemptionSpam_CannotLockUnbonding() public {
        depositAs(CAROL, 10_000 ether);
        depositAs(ATTACKER, 1_000 ether);
        allocate(poolA, 11_000 ether);
        uint256 carolShares = vault.balanceOf(CAROL) / 2;
        vm.prank(CAROL);
        vault.requestRedeem(carolShares, CAROL);

        for (uint256 i; i < 40; ++i) {
            vm.prank(ATTACKER);
            vault.requestRedeem(1e9, ATTACKER); // ~1,000 wei of PHA
            try vault.forceUnbond(poolA) {} catch {}
        }

        uint256 rest = vault.balanceOf(ATTACKER);
        vm.prank(ATTACKER);
        vault.requestRedeem(rest, ATTACKER); // a real shortfall is still unbonded
        // Each unbonding request is valued one wei short (the hub rounds each down on its own).
        assertApproxEq(vault.queuedAssets(), vault.unbondingAssets(), 42, "the whole queue is unbonding");
        vm.prank(MANAGER);
        (bool ok,) = address(vault).call(abi.encodeCall(vault.requestPoolWithdrawal, (poolA, 1_000 ether)));
        assertTrue(ok, "the manager can still unbond");
        assertGe(vault.pendingWithdrawals().length, 40, "as many unbonding requests as needed");
    }

    /// Queues `shares` for `holder`, waits the exit delay and processes; returns the PHA received.
    function exit(address holder, uint256 shares) internal returns (uint256 received) {
        uint256 before = pha.balanceOf(holder);
        uint256 max = vault.maxRedeem(holder);
        if (max != 0) {
            vm.prank(holder);
            vault.redeem(max, holder, holder);
            shares -= max;
        }
        if (shares != 0) {
            vm.prank(holder);
            vault.requestRedeem(shares, holder);
            vm.warp(block.timestamp + 1 days);
            vault.processRedeemQueue(type(uint256).max);
        }
        received = pha.balanceOf(holder) - before;
    }
}
