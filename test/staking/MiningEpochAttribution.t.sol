// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {MiningFixture} from "./MiningFixture.sol";

/// @notice Mining pays each epoch for the work done in it, whenever the pool's fees are collected:
/// a pool's reward for epoch e is budget(e) × its work in e / all work in e (within the cap).
/// The attack: the reserve used to count a pool's work in the epoch its fees were collected, so
/// a pool collected late was paid from another epoch's budget, and whoever timed a harvest could
/// move a pool's work into a quiet epoch, where the only bound is the self-dealing cap (80% of the
/// 5% protocol fee its work paid: 4% of the work, 4× its fair share here).
contract MiningEpochAttributionTest is MiningFixture {
    address internal constant WORKER_A = address(0x1001);
    address internal constant WORKER_B = address(0x2001);
    address internal constant WORKER_C = address(0x3001);
    address internal constant OPERATOR_B = address(0x0F0B);
    address internal constant OPERATOR_C = address(0x0F0C);
    /// @dev Work in the busy epoch: A and B the same, C the crowd (1,000 PHA budget for 100,000 PHA).
    uint256 internal constant WORK_AB = 10_000 ether;
    uint256 internal constant WORK_C = 80_000 ether;
    uint256 internal constant EPOCH_OF_WORK = 1;

    uint256 internal poolA;
    uint256 internal poolB;
    uint256 internal poolC;

    function setUp() public override {
        super.setUp();
        poolA = createPool(OPERATOR, 0);
        addWorker(poolA, OPERATOR, WORKER_A);
        stakeAs(ALICE, poolA, 2_000 ether);
        poolB = createPool(OPERATOR_B, 0);
        addWorker(poolB, OPERATOR_B, WORKER_B);
        stakeAs(BOB, poolB, 2_000 ether);
        poolC = createPool(OPERATOR_C, 0);
        addWorker(poolC, OPERATOR_C, WORKER_C);
        stakeAs(BOB, poolC, 2_000 ether);

        // Epoch 1: the same work by A and B, the crowd's by C; A and C are collected during it.
        vm.warp(epochStart(EPOCH_OF_WORK) + 1 hours);
        creditFees(WORKER_A, WORK_AB);
        creditFees(WORKER_B, WORK_AB);
        creditFees(WORKER_C, WORK_C);
        hub.harvestPool(poolA);
        hub.harvestPool(poolC);
    }

    /// B's epoch-1 work collected during epoch 2 is paid from epoch 1's budget, as A's: equally.
    function test_WorkCollectedInTheNextEpoch_PaidAsTheSameWorkCollectedInIts() public {
        vm.warp(epochStart(EPOCH_OF_WORK + 1) + 23 hours);
        hub.harvestPool(poolB);

        _payAll();
        uint256 fair = EPOCH_BUDGET * WORK_AB / (2 * WORK_AB + WORK_C); // 100 PHA
        assertEq(mining.poolRecord(poolA).mined, fair, "A: its share of epoch 1");
        assertEq(mining.poolRecord(poolB).mined, fair, "B: the same work, the same reward");
        assertEq(mining.poolRecord(poolC).mined, EPOCH_BUDGET - 2 * fair, "C: the rest of epoch 1");
        assertEq(mining.releasedIn(EPOCH_OF_WORK + 1), 0, "epoch 2's budget untouched: no work was done in it");
    }

    /// B holds its epoch-1 fees and harvests them in epoch 5, where nobody works: it used to take 400
    /// PHA of epoch 5's budget (the cap) for work whose fair share was 100. Reported after its
    /// epoch's payments began, the work now earns nothing and takes nothing from any later epoch.
    function test_HarvestTimedIntoAQuietEpoch_GainsNothing() public {
        vm.warp(epochStart(EPOCH_OF_WORK + 4));
        hub.harvestPool(poolB);
        assertEq(pha.balanceOf(address(router)), 0, "B's fees were collected");

        _payAll();
        uint256 fair = EPOCH_BUDGET * WORK_AB / (2 * WORK_AB + WORK_C);
        assertEq(mining.poolRecord(poolB).mined, 0, "late work: no reward");
        assertLe(mining.poolRecord(poolB).mined, fair, "never more than its fair share");
        assertEq(mining.releasedIn(EPOCH_OF_WORK + 4), 0, "the quiet epoch's budget stays in the reserve");
        assertApproxEq(mining.releasedIn(EPOCH_OF_WORK), EPOCH_BUDGET, 1, "epoch 1 pays the work reported in time");
        assertEq(
            mining.poolRecord(poolA).mined,
            EPOCH_BUDGET * WORK_AB / (WORK_AB + WORK_C),
            "A: its share of the work known when epoch 1 was paid"
        );
    }

    /// Long after, any harvest pays every epoch due.
    function _payAll() internal {
        vm.warp(epochStart(EPOCH_OF_WORK + 7));
        hub.harvestPool(poolA);
        hub.harvestPool(poolB);
        hub.harvestPool(poolC);
    }
}
