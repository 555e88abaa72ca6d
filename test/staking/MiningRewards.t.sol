// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MiningFixture} from "./MiningFixture.sol";
import {MiningRewards} from "../../contracts/staking/MiningRewards.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IMiningRewards} from "../../contracts/staking/IMiningRewards.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";

/// @notice A mining reserve whose payment burns all the gas it is given.
contract GasBurningMining {
    function onFeesSettled(uint256, uint256, uint256, uint64) external view returns (uint256) {
        while (gasleft() > 0) {}
        return 0;
    }
}

/// @notice A mining reserve that refuses every payment.
contract RefusingMining {
    error Refused();

    function onFeesSettled(uint256, uint256, uint256, uint64) external pure returns (uint256) {
        revert Refused();
    }
}

/// @notice A router that pays the fees it holds but claims unbounded work for them.
contract InflatingRouter {
    IERC20 public immutable pha;

    constructor(IERC20 pha_) {
        pha = pha_;
    }

    function feeConfig() external pure returns (uint256, uint256, uint256) {
        return (0, 0, 500);
    }

    function collectWorkerFees(address) external returns (uint256 amount, uint256, uint256) {
        amount = pha.balanceOf(address(this));
        if (amount != 0) pha.transfer(msg.sender, amount);
        return (amount, type(uint256).max, type(uint256).max);
    }
}

/// @notice Epoch budgets split by settled work, the self-dealing cap, fault withholding, the
/// published schedule and the reserve's bounds.
contract MiningRewardsTest is MiningFixture {
    address internal constant WORKER = address(0x1001);
    address internal constant WORKER_B = address(0x2001);
    address internal constant OPERATOR_B = address(0x0F0B);
    uint256 internal poolA;
    uint256 internal poolB;

    function setUp() public override {
        super.setUp();
        poolA = createPool(OPERATOR, 0);
        addWorker(poolA, OPERATOR, WORKER);
        stakeAs(ALICE, poolA, 2_000 ether);
        poolB = createPool(OPERATOR_B, 0);
        addWorker(poolB, OPERATOR_B, WORKER_B);
        stakeAs(BOB, poolB, 2_000 ether);
    }

    // ---------------------------------------------------------------- payment

    function test_EpochWork_PaidOnceFinalAndClaimedWithFees() public {
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        assertEq(mining.released(), 0, "nothing before the epoch ends");
        assertEq(mining.pendingReward(poolA), feeCap(100 ether), "capped by the protocol fee paid");
        // Epoch 0's work can still be reported during epoch 1: not final, not paid.
        vm.warp(epochStart(1));
        hub.harvestPool(poolA);
        assertEq(mining.released(), 0, "nothing while the epoch's work may still be reported");

        vm.warp(epochStart(2));
        creditFees(WORKER, 10 ether);
        uint256 reward = feeCap(100 ether); // 100 × 5% × 80% = 4 PHA, far under the 1,000 PHA budget
        assertEq(reward, 4 ether, "worked example");
        vm.expectEmit(address(mining));
        emit IMiningRewards.MiningRewardPaid(poolA, 0, 100 ether, reward);
        hub.harvestPool(poolA);

        uint256 before = pha.balanceOf(ALICE);
        vm.prank(ALICE);
        hub.claimRewards(poolA);
        assertApproxEq(pha.balanceOf(ALICE) - before, 114 ether, 1, "fees and mining in one claim");
        assertEq(mining.released(), reward, "released");
        assertEq(mining.releasedIn(0), reward, "released for epoch 0");
        assertEq(mining.poolRecord(poolA).mined, reward, "mined");
        assertEq(mining.poolRecord(poolA).nextWork, 10 ether, "epoch 2 work pending");
        assertEq(mining.poolRecord(poolA).epoch, 1, "the window starts at the epoch before now");
    }

    function test_Budget_SplitByWorkAcrossPools() public {
        setSchedule(_schedule(1 ether, SHARE_BPS, FAULT_PENALTY));
        creditFees(WORKER, 300 ether);
        creditFees(WORKER_B, 100 ether);
        hub.harvestPool(poolA);
        hub.harvestPool(poolB);
        assertEq(mining.epochTotals(0).work, 400 ether, "epoch work");

        vm.warp(epochStart(2));
        hub.harvestPool(poolA);
        hub.harvestPool(poolB);
        assertEq(mining.poolRecord(poolA).mined, 0.75 ether, "three quarters");
        assertEq(mining.poolRecord(poolB).mined, 0.25 ether, "one quarter");
        assertEq(mining.releasedIn(0), 1 ether, "the whole budget, no more");
    }

    function test_UnpaidWork_WaitsAcrossEpochsAndIsPaidAtTheNextFeeSettlement() public {
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        vm.warp(epochStart(5));
        creditFees(WORKER, 1 ether);
        hub.harvestPool(poolA);
        assertEq(mining.releasedIn(0), feeCap(100 ether), "epoch 0 paid at the next fee settlement");
        assertEq(mining.poolRecord(poolA).nextWork, 1 ether, "new work in epoch 5");
        assertEq(mining.poolRecord(poolA).epoch, 4, "the window starts at the epoch before now");
    }

    /// Stranded rewards: a pool that earns no fee after its epoch of work (its workers left, its
    /// operator is gone) used to keep that epoch's reward in the reserve for ever, since only a
    /// settlement with fees called the reserve. Any explicit harvest now pays it, by anyone.
    function test_PoolThatNeverEarnsAgain_IsPaidByAnyonesHarvest() public {
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        vm.prank(OPERATOR);
        hub.removeWorker(poolA, WORKER);
        vm.warp(epochStart(40)); // long after: no expiry
        vm.prank(address(0xD00D)); // a stranger
        hub.harvestPool(poolA);
        assertEq(mining.releasedIn(0), feeCap(100 ether), "paid without new fees");
        assertEq(mining.poolRecord(poolA).work, 0, "nothing left to pay");
        uint256 before = pha.balanceOf(ALICE);
        vm.prank(ALICE);
        hub.claimRewards(poolA);
        assertApproxEq(pha.balanceOf(ALICE) - before, 100 ether + feeCap(100 ether), 1, "the delegator gets it");
    }

    /// The idle settlements of stakes and withdrawal requests still do not call the reserve (their
    /// cost is unchanged); nor does an explicit harvest with nothing due record anything.
    function test_IdleSettlement_RecordsNothing() public {
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        vm.warp(epochStart(2));
        stakeAs(BOB, poolA, 1_000 ether); // idle settlement: not paid yet
        assertEq(mining.released(), 0, "a stake does not call the reserve");
        hub.harvestPool(poolA);
        assertEq(mining.released(), feeCap(100 ether), "the harvest pays");
        uint16 feeBps = mining.poolRecord(poolA).protocolFeeBps;
        router.setProtocolFeeBps(feeBps + 100);
        hub.harvestPool(poolA); // nothing due, no fees
        assertEq(mining.poolRecord(poolA).protocolFeeBps, feeBps, "an idle harvest settles no work and keeps the rate");
        assertEq(mining.epochTotals(2).work, 0, "no work recorded");
    }

    // ---------------------------------------------------------------- schedule

    function test_Schedule_DecaysByPublishedSteps() public view {
        assertEq(mining.budgetAt(0), EPOCH_BUDGET, "epoch 0");
        assertEq(mining.budgetAt(29), EPOCH_BUDGET, "same step");
        assertEq(mining.budgetAt(30), 900 ether, "one step");
        assertEq(mining.budgetAt(60), 810 ether, "two steps");
        assertEq(mining.budgetAt(90), 729 ether, "three steps");
    }

    function test_EpochBudget_FixedByItsFirstWork() public {
        setSchedule(_schedule(1 ether, SHARE_BPS, FAULT_PENALTY));
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        setSchedule(_schedule(50 ether, SHARE_BPS, FAULT_PENALTY));
        assertEq(mining.epochTotals(0).budget, 1 ether, "published budget kept");
        vm.warp(epochStart(2));
        creditFees(WORKER, 1);
        hub.harvestPool(poolA);
        assertEq(mining.releasedIn(0), 1 ether, "paid at the budget in force when the epoch began to count");
        assertEq(mining.epochTotals(2).budget, 50 ether, "the new budget from the next epoch");
    }

    function test_Schedule_OutOfBoundsRefused() public {
        MiningRewards.Schedule memory s = defaultSchedule();
        s.shareBps = uint16(mining.MAX_SHARE_BPS() + 1);
        vm.prank(GOVERNANCE);
        vm.expectRevert(IMiningRewards.InvalidSchedule.selector);
        mining.setSchedule(s);
        s = defaultSchedule();
        s.faultPenalty = uint32(mining.MIN_FAULT_PENALTY() - 1);
        vm.prank(GOVERNANCE);
        vm.expectRevert(IMiningRewards.InvalidSchedule.selector);
        mining.setSchedule(s);
        s = defaultSchedule();
        s.decayBps = 0;
        vm.prank(GOVERNANCE);
        vm.expectRevert(IMiningRewards.InvalidSchedule.selector);
        mining.setSchedule(s);
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OPERATOR));
        mining.setSchedule(defaultSchedule());
    }

    // ---------------------------------------------------------------- reserve

    function test_Fund_RefusedAboveTheGovernedShareOfSupply() public {
        uint256 cap = pha.totalSupply() * RESERVE_SHARE_BPS / 10_000;
        assertEq(mining.reserveCap(), cap, "cap");
        uint256 room = cap - mining.funded();
        vm.expectRevert(abi.encodeWithSelector(IMiningRewards.ReserveCapExceeded.selector, cap + 1, cap));
        mining.fund(room + 1);
        mining.fund(room);
        assertEq(pha.balanceOf(address(mining)), cap, "funded to the cap");
        vm.prank(GOVERNANCE);
        vm.expectRevert(abi.encodeWithSelector(IMiningRewards.InvalidReserveShare.selector, 7_001));
        mining.setReserveShare(7_001);
    }

    function test_MigrateTo_MovesTheOldReserveIntoTheHubsNewOneOnly() public {
        // Epoch 0's work is paid by the old reserve while the hub still reports to it.
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        vm.warp(epochStart(2));
        hub.harvestPool(poolA);
        uint256 paid = mining.released();
        assertTrue(paid > 0, "the old reserve paid");

        MiningRewards successor = new MiningRewards(pha, address(hub), defaultSchedule(), RESERVE_SHARE_BPS, GOVERNANCE);
        // Not before the hub pays from the successor, never to itself or an address of the owner's.
        vm.prank(GOVERNANCE);
        vm.expectRevert(abi.encodeWithSelector(IMiningRewards.NotHubsReserve.selector, address(successor)));
        mining.migrateTo(address(successor));
        vm.prank(GOVERNANCE);
        hub.setMiningRewards(address(successor));
        vm.prank(GOVERNANCE);
        vm.expectRevert(abi.encodeWithSelector(IMiningRewards.NotHubsReserve.selector, address(mining)));
        mining.migrateTo(address(mining));
        vm.prank(GOVERNANCE);
        vm.expectRevert(abi.encodeWithSelector(IMiningRewards.NotHubsReserve.selector, GOVERNANCE));
        mining.migrateTo(GOVERNANCE);
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, OPERATOR));
        mining.migrateTo(address(successor));

        vm.prank(GOVERNANCE);
        vm.expectEmit(address(mining));
        emit IMiningRewards.MigratedTo(address(successor), RESERVE - paid);
        mining.migrateTo(address(successor));
        assertEq(pha.balanceOf(address(mining)), 0, "nothing stranded");
        assertEq(mining.funded(), mining.released() + mining.migrated(), "old reserve: put in = paid + moved");
        assertEq(pha.balanceOf(address(successor)), RESERVE - paid, "all of it in the successor");
        assertEq(successor.funded(), RESERVE - paid, "counted against the successor's cap");
        vm.prank(GOVERNANCE);
        vm.expectRevert(ICommonErrors.ZeroAmount.selector);
        mining.migrateTo(address(successor));

        // The successor pays the work reported to it from then on.
        vm.warp(epochStart(3));
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        vm.warp(epochStart(5));
        hub.harvestPool(poolA);
        assertTrue(successor.released() > 0, "the successor pays");
    }

    function test_EmptyReserve_PaysWhatItHoldsAndNeverBlocksSettlement() public {
        MiningRewards small = new MiningRewards(pha, address(hub), defaultSchedule(), RESERVE_SHARE_BPS, GOVERNANCE);
        vm.prank(GOVERNANCE);
        hub.setMiningRewards(address(small));
        pha.approve(address(small), 1 ether);
        small.fund(1 ether);
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        vm.warp(epochStart(2));
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        assertEq(small.released(), 1 ether, "all it held");
        assertEq(pha.balanceOf(address(small)), 0, "empty");
        vm.warp(epochStart(4));
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        assertEq(small.released(), 1 ether, "nothing more");
        assertApproxEq(hub.pendingRewards(poolA, ALICE), 301 ether, 1, "fees still distributed");
    }

    /// The hub reports no more work than the fees it received, whatever the router claims, and a
    /// claim that would overflow a sum does not block the settlement.
    function test_RouterClaimingMoreWork_CappedByTheFeesReceived() public {
        InflatingRouter inflating = new InflatingRouter(IERC20(address(pha)));
        vm.prank(GOVERNANCE);
        hub.setRouter(address(inflating));
        vm.warp(epochStart(1));
        pha.transfer(address(inflating), 3 ether);
        hub.harvestPool(poolA);
        assertEq(mining.epochTotals(0).work + mining.epochTotals(1).work, 3 ether, "work = fees received");
        assertApproxEq(hub.pendingRewards(poolA, ALICE), 3 ether, 1, "fees distributed");
    }

    function test_OnlyHubMayReportFees() public {
        vm.expectRevert(abi.encodeWithSelector(IMiningRewards.NotHub.selector, address(this)));
        mining.onFeesSettled(poolA, 1_000_000 ether, 0, 0);
    }

    // ---------------------------------------------------------------- protocol fee

    function test_RaisedProtocolFee_ReachesOnlyWorkPaidAfterIt() public {
        router.setProtocolFeeBps(0);
        creditFees(WORKER, 1 ether);
        hub.harvestPool(poolA); // the pool's rate is now known: 0
        creditFees(WORKER, 100 ether); // work paid at 0 protocol fee...
        router.setProtocolFeeBps(2_000); // ...then the fee is raised before settlement
        hub.harvestPool(poolA);
        assertEq(mining.poolRecord(poolA).feePaid, 0, "priced at the lower rate");
        vm.warp(epochStart(2));
        creditFees(WORKER, 1);
        hub.harvestPool(poolA);
        assertEq(mining.released(), 0, "no reward for work that paid no protocol fee");
    }

    // ---------------------------------------------------------------- faults

    function test_TimeoutInTheEpoch_WithholdsItsReward() public {
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        vm.warp(block.timestamp + 1 hours);
        uint64 faultAt = uint64(block.timestamp);
        router.slashForTimeout(WORKER, 1, 1 ether, BOB, 0);
        vm.warp(epochStart(1));
        creditFees(WORKER, 1 ether);
        hub.harvestPool(poolA);
        assertEq(mining.epochTotals(1).work, 0, "work within the penalty after the fault not counted");
        vm.warp(epochStart(2));
        vm.expectEmit(address(mining));
        emit IMiningRewards.MiningRewardWithheld(poolA, 0, 100 ether, faultAt);
        hub.harvestPool(poolA);
        assertEq(mining.released(), 0, "nothing for the epoch of the fault");
        assertEq(mining.poolRecord(poolA).work, 0, "nothing left to pay");
    }

    function test_FaultReportedAfterTheEpoch_StillWithholdsIt() public {
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        vm.warp(epochStart(1) + 10);
        router.slashForTimeout(WORKER, 1, 1 ether, BOB, 0); // a request of epoch 0 timed out, reported late
        vm.warp(epochStart(2));
        creditFees(WORKER, 1 ether);
        hub.harvestPool(poolA);
        assertEq(mining.released(), 0, "withheld");
    }

    function test_JailedWorkerPool_EarnsNothingAndDoesNotDiluteOthers() public {
        setSchedule(_schedule(1 ether, SHARE_BPS, FAULT_PENALTY));
        vm.warp(epochStart(1) - 1);
        router.slashForEquivocation(WORKER, 7, BOB, 0); // jails WORKER at the end of epoch 0
        vm.warp(epochStart(1));
        creditFees(WORKER, 300 ether);
        creditFees(WORKER_B, 100 ether);
        hub.harvestPool(poolA);
        hub.harvestPool(poolB);
        assertEq(mining.epochTotals(1).work, 100 ether, "the faulty pool's work is not counted");
        vm.warp(epochStart(3));
        creditFees(WORKER, 1);
        creditFees(WORKER_B, 1);
        hub.harvestPool(poolA);
        hub.harvestPool(poolB);
        assertEq(mining.poolRecord(poolA).mined, 0, "jailed: nothing");
        assertEq(mining.poolRecord(poolB).mined, 1 ether, "the honest pool gets the whole budget");
    }

    function test_Fault_OlderThanPenaltyBeforeEpoch_NoLongerWithholds() public {
        router.slashForTimeout(WORKER, 1, 1 ether, BOB, 0);
        vm.warp(epochStart(2));
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        vm.warp(epochStart(4));
        creditFees(WORKER, 1);
        hub.harvestPool(poolA);
        assertEq(mining.releasedIn(2), feeCap(100 ether), "paid again once the penalty is over");
    }

    // ---------------------------------------------------------------- hostile reserve / caller

    function test_RefusingReserve_DoesNotBlockSettlement() public {
        RefusingMining refusing = new RefusingMining();
        vm.prank(GOVERNANCE);
        hub.setMiningRewards(address(refusing));
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        assertApproxEq(hub.pendingRewards(poolA, ALICE), 100 ether, 1, "fees distributed");
    }

    function test_StarvedReserveCall_RevertsInsteadOfSkippingTheReward() public {
        GasBurningMining burning = new GasBurningMining();
        vm.prank(GOVERNANCE);
        hub.setMiningRewards(address(burning));
        creditFees(WORKER, 100 ether);
        vm.expectRevert(IStakingHub.FeeCollectionOutOfGas.selector);
        hub.harvestPool{gas: 1_000_000}(poolA);
    }

    /// A caller choosing the gas limit of a settlement must not make it skip the reward: at every
    /// limit the settlement either reverts or pays the reward in full.
    function test_AnyGasLimit_EitherRevertsOrPaysTheReward() public {
        creditFees(WORKER, 100 ether);
        hub.harvestPool(poolA);
        vm.warp(epochStart(2));
        creditFees(WORKER, 1 ether);
        uint256 paid;
        for (uint256 gasLimit = 60_000; gasLimit < 300_000; gasLimit += 1_500) {
            uint256 snapshot = vm.snapshotState();
            try hub.harvestPool{gas: gasLimit}(poolA) {
                assertEq(mining.released(), feeCap(100 ether), "a settlement that succeeds pays the reward");
                ++paid;
            } catch {}
            vm.revertToState(snapshot);
        }
        assertTrue(paid != 0, "some limits succeed");
    }

    // ---------------------------------------------------------------- fuzz

    /// Whatever the pools' work and the budget, an epoch pays at most its budget and each pool at
    /// most its self-dealing cap.
    function testFuzz_EpochPaysAtMostBudgetAndCap(uint128 budget, uint96 feesA, uint96 feesB, uint16 feeBps) public {
        budget = uint128(bound(budget, 0, 10_000_000 ether));
        feeBps = uint16(bound(feeBps, 0, 2_000));
        router.setProtocolFeeBps(feeBps);
        setSchedule(_schedule(budget, SHARE_BPS, FAULT_PENALTY));
        creditFees(WORKER, bound(feesA, 1, 10_000_000 ether));
        creditFees(WORKER_B, bound(feesB, 1, 10_000_000 ether));
        uint256 workA = router.workerFees(WORKER);
        uint256 workB = router.workerFees(WORKER_B);
        hub.harvestPool(poolA);
        hub.harvestPool(poolB);
        vm.warp(epochStart(2));
        creditFees(WORKER, 1);
        creditFees(WORKER_B, 1);
        hub.harvestPool(poolA);
        hub.harvestPool(poolB);
        uint256 minedA = mining.poolRecord(poolA).mined;
        uint256 minedB = mining.poolRecord(poolB).mined;
        assertLe(minedA + minedB, budget, "within the budget");
        assertLe(minedA, workA * feeBps * SHARE_BPS / 1e8, "A within its protocol fee");
        assertLe(minedB, workB * feeBps * SHARE_BPS / 1e8, "B within its protocol fee");
        assertEq(mining.released(), minedA + minedB, "released = sum of rewards");
        assertEq(pha.balanceOf(address(mining)) + mining.released(), mining.funded(), "reserve accounted");
        // Nothing left on the table when the budget binds: at most a wei per pool of rounding.
        uint256 capA = workA * feeBps * SHARE_BPS / 1e8;
        uint256 capB = workB * feeBps * SHARE_BPS / 1e8;
        if (capA + capB >= budget) assertGe(minedA + minedB + 2, _min(budget, capA + capB), "budget used");
    }

    /// The budget never grows with time and never exceeds the exact decaying schedule.
    function testFuzz_BudgetNonIncreasingAndBelowExact(uint256 epoch) public view {
        epoch = bound(epoch, 0, 100_000);
        uint256 b = mining.budgetAt(epoch);
        assertLe(mining.budgetAt(epoch + DECAY_EPOCHS), b, "non-increasing");
        // (0.9)^steps bounded above by 1/(1 + 0.1 × steps) for small steps; check the first steps exactly.
        uint256 steps = epoch / DECAY_EPOCHS;
        uint256 exact = EPOCH_BUDGET;
        for (uint256 i; i < steps && i < 40; ++i) {
            exact = exact * 9 / 10 + 1;
        }
        if (steps < 40) assertLe(b, exact, "at most the schedule");
    }

    // ---------------------------------------------------------------- helpers

    function _schedule(uint128 budget, uint16 shareBps, uint32 penalty) internal pure returns (MiningRewards.Schedule memory) {
        return MiningRewards.Schedule({
            initialEpochBudget: budget,
            decayBps: DECAY_BPS,
            decayEpochs: DECAY_EPOCHS,
            shareBps: shareBps,
            faultPenalty: penalty
        });
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
