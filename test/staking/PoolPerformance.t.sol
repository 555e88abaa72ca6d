// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {StakingFixture} from "./StakingFixture.sol";
import {PoolPerformance, IStakingHubPools} from "../../contracts/staking/PoolPerformance.sol";

/// @notice A pool's reward stream over trailing windows: PHA paid to stakers after commission, minus
/// slashes, and the stake it was paid on (smallest at the snapshots, time-weighted).
contract PoolPerformanceTest is StakingFixture {
    address internal constant WORKER = address(0x1001);
    PoolPerformance internal performance;
    uint256 internal poolId;
    uint256[] internal ids;

    function setUp() public override {
        super.setUp();
        poolId = createPool(OPERATOR, 1_000);
        addWorker(poolId, OPERATOR, WORKER);
        stakeAs(ALICE, poolId, 10_000 ether);
        performance = new PoolPerformance(IStakingHubPools(address(hub)));
        ids.push(poolId);
    }

    /// 10 PHA of fees a day at 10% commission: 9 PHA to stakers per epoch.
    function test_Rewards_ArePhaPaidToStakersAfterCommissionPerEpoch() public {
        for (uint256 e; e < 4; ++e) {
            creditFees(WORKER, 10 ether);
            performance.record(ids);
            vm.warp(block.timestamp + 1 days);
        }
        (bool ok, int256 paid, uint256 newest) = performance.rewardsOver(poolId, 3);
        assertTrue(ok, "a full window");
        assertEq(newest, 3, "newest epoch");
        assertApproxEq(uint256(paid), 9 ether, 1e9, "9 PHA per epoch");
        (ok,,) = performance.rewardsOver(poolId, 4);
        assertFalse(ok, "not enough history");
    }

    function test_Slash_MakesTheStreamNegative() public {
        performance.record(ids);
        vm.warp(block.timestamp + 1 days);
        router.slashForTimeout(WORKER, 1, hub.poolState(poolId).activeStake / 100, BOB, 0); // 1% of the stake
        performance.record(ids);
        (bool ok, int256 paid,) = performance.rewardsOver(poolId, 1);
        assertTrue(ok, "window");
        assertApproxEq(uint256(-paid), 100 ether, 1e12, "-100 PHA (1% of the stake) per epoch");
    }

    function test_Record_OncePerEpochAndSettlesFirst() public {
        creditFees(WORKER, 10 ether);
        performance.record(ids);
        assertEq(router.workerFees(WORKER), 0, "settled before the snapshot");
        creditFees(WORKER, 10 ether);
        performance.record(ids);
        assertEq(performance.snapshotCount(poolId), 1, "one per epoch");
        assertEq(router.workerFees(WORKER), 10 ether, "skipped: not settled again");
    }

    /// Recording late in an epoch changes no rate: rates divide by the actual time between snapshots.
    function test_Rate_IndependentOfWhenInTheEpochItIsRecorded() public {
        performance.record(ids);
        vm.warp(block.timestamp + 1 days + 20 hours);
        creditFees(WORKER, 18 ether); // 1.8 days of 10 PHA
        performance.record(ids);
        (bool ok, int256 paid,) = performance.rewardsOver(poolId, 1);
        assertTrue(ok, "window");
        // 18 × 0.9 = 16.2 PHA in 1 + 20/24 days: 8.84 PHA per day.
        assertApproxEq(uint256(paid), uint256(16.2e18) * 24 / 44, 1e10, "per epoch of time");
    }

    function test_History_KeepsTheNewestSixteen() public {
        for (uint256 e; e < 20; ++e) {
            creditFees(WORKER, 10 ether);
            performance.record(ids);
            vm.warp(block.timestamp + 1 days);
        }
        assertEq(performance.snapshotCount(poolId), 20, "count");
        assertEq(performance.snapshot(poolId, 0).epoch, 19, "newest");
        assertEq(performance.snapshot(poolId, 15).epoch, 4, "oldest kept");
        (bool ok,,) = performance.rewardsOver(poolId, 15);
        assertTrue(ok, "15-epoch window");
        (ok,,) = performance.rewardsOver(poolId, 16);
        assertFalse(ok, "16 epochs back is gone");
    }

    /// Stake present for half of one of two epochs counts for a quarter of the window, however it sat
    /// at the snapshots; the smallest snapshot stake is kept apart.
    function test_Window_StakeIsTimeWeightedAndSmallestAtSnapshots() public {
        performance.record(ids);
        vm.warp(block.timestamp + 1 days);
        performance.record(ids);
        stakeAs(BOB, poolId, 20_000 ether);
        vm.warp(block.timestamp + 12 hours);
        uint256 shares = hub.sharesOf(poolId, BOB);
        vm.prank(BOB);
        hub.requestWithdrawal(poolId, shares);
        vm.warp(block.timestamp + 12 hours);
        stakeAs(BOB, poolId, 30_000 ether); // at the last snapshot only
        performance.record(ids);
        PoolPerformance.Window memory w = performance.windowOver(poolId, 2);
        assertTrue(w.ok, "window");
        assertEq(w.meanStake, 15_000 ether, "10,000 throughout + 20,000 for half a day of two");
        assertEq(w.minStake, 10_000 ether, "smallest at the snapshots");
    }

    /// PHA paid counts as PHA whatever the stake was when it was paid (review s24: a per-stake index
    /// read 1 PHA harvested on 1 PHA of stake as 100 %).
    function test_Rewards_IndependentOfTheStakeWhenPaid() public {
        performance.record(ids);
        vm.warp(block.timestamp + 1 days);
        uint256 shares = hub.sharesOf(poolId, ALICE) - hub.sharesForStake(poolId, 1 ether);
        vm.prank(ALICE);
        hub.requestWithdrawal(poolId, shares);
        creditFees(WORKER, 10 ether);
        hub.harvestPool(poolId);
        stakeAs(ALICE, poolId, 10_000 ether);
        performance.record(ids);
        (bool ok, int256 paid,) = performance.rewardsOver(poolId, 1);
        assertTrue(ok, "window");
        assertApproxEq(uint256(paid), 9 ether, 1e9, "the 9 PHA paid, not 9 PHA per PHA staked");
    }
}
