// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {StakingFixture} from "./StakingFixture.sol";
import {PoolPerformance, IStakingHubPools} from "../../contracts/staking/PoolPerformance.sol";

/// @notice A pool share's return over trailing windows: rewards after commission, minus slashes.
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

    /// 10 PHA of fees a day on 10,000 PHA at 10% commission: 9 PHA to stakers, 0.09% per epoch.
    function test_Return_IsRewardsAfterCommissionPerStakePerEpoch() public {
        for (uint256 e; e < 4; ++e) {
            creditFees(WORKER, 10 ether);
            performance.record(ids);
            vm.warp(block.timestamp + 1 days);
        }
        (bool ok, int256 rate, uint256 newest) = performance.returnOver(poolId, 3);
        assertTrue(ok, "a full window");
        assertEq(newest, 3, "newest epoch");
        assertApproxEq(uint256(rate), 0.0009e18, 1e9, "0.09% per epoch");
        (ok,,) = performance.returnOver(poolId, 4);
        assertFalse(ok, "not enough history");
    }

    function test_Slash_MakesTheReturnNegative() public {
        performance.record(ids);
        vm.warp(block.timestamp + 1 days);
        router.slashForTimeout(WORKER, 1, hub.poolState(poolId).activeStake / 100, BOB, 0); // 1% of the stake
        performance.record(ids);
        (bool ok, int256 rate,) = performance.returnOver(poolId, 1);
        assertTrue(ok, "window");
        assertApproxEq(uint256(-rate), 0.01e18, 1e12, "-1% per epoch");
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
        (bool ok, int256 rate,) = performance.returnOver(poolId, 1);
        assertTrue(ok, "window");
        // 18 × 0.9 = 16.2 PHA over 10,000 PHA in 1 + 20/24 days: 0.0884% per day.
        assertApproxEq(uint256(rate), uint256(16.2e18) * 1e18 / 10_000e18 * 24 / 44, 1e10, "per epoch of time");
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
        (bool ok,,) = performance.returnOver(poolId, 15);
        assertTrue(ok, "15-epoch window");
        (ok,,) = performance.returnOver(poolId, 16);
        assertFalse(ok, "16 epochs back is gone");
    }
}
