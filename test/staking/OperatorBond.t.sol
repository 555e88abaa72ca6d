// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {StakingFixture} from "./StakingFixture.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";

/// @notice The operator bond (review s25 F2): PHA the operator posts per pool, slashed before any
/// staker for every fault of the pool's workers, required per active or retiring worker for the pool
/// to be sampled and to be taken out.
contract OperatorBondTest is StakingFixture {
    address internal constant WORKER = address(0x1001);
    address internal constant WORKER2 = address(0x1002);
    address internal constant REPORTER = address(0x4E9);
    uint128 internal constant MIN_BOND = 3.2 ether;
    uint256 internal constant PENALTY = 0.2 ether;

    uint256 internal poolId;

    function setUp() public override {
        super.setUp();
        IStakingHub.Params memory p = defaultParams();
        p.minBondPerWorker = MIN_BOND;
        vm.prank(GOVERNANCE);
        hub.setParams(p);
        poolId = createPool(OPERATOR, 1_000);
        addWorker(poolId, OPERATOR, WORKER);
        stakeAs(OPERATOR, poolId, 1_000 ether);
        stakeAs(ALICE, poolId, 9_000 ether);
    }

    // ---------------------------------------------------------------- posting and eligibility

    function test_APoolWithoutItsBondIsNeverSampled() public {
        assertEq(hub.poolState(poolId).weight, 0, "stake enough, no bond: weight 0");
        assertEq(hub.sampleWorker(1), address(0), "not drawn");
        assertFalse(hub.isEligible(WORKER), "not eligible");
        _post(OPERATOR, MIN_BOND - 1);
        assertEq(hub.poolState(poolId).weight, 0, "a wei short: still 0");
        _post(OPERATOR, 1);
        assertEq(hub.poolState(poolId).weight, 100, "10,000 PHA in WEIGHT_UNITs");
        assertEq(hub.sampleWorker(1), WORKER, "drawn");
        // A second worker needs a second bond.
        addWorker(poolId, OPERATOR, WORKER2);
        assertEq(hub.poolState(poolId).weight, 0, "two workers, one bond: out");
        _post(OPERATOR, MIN_BOND);
        assertEq(hub.poolState(poolId).weight, 100, "two bonds: back");
    }

    function test_AnyoneMayPostTheBondOnlyTheOperatorTakesItOut() public {
        fund(BOB, MIN_BOND);
        vm.expectEmit(address(hub));
        emit IStakingHub.BondPosted(poolId, BOB, MIN_BOND);
        vm.prank(BOB);
        hub.postBond(poolId, MIN_BOND);
        assertEq(hub.bondOf(poolId), MIN_BOND, "credited to the pool");
        assertEq(hub.sharesOf(poolId, BOB), 0, "no shares: the bond earns and votes nothing");
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.NotPoolOperator.selector, poolId, BOB));
        hub.withdrawBond(poolId, 1);
    }

    function test_PostBondRefusesZeroAndUnknownPools() public {
        fund(BOB, 1 ether);
        vm.prank(BOB);
        vm.expectRevert(ICommonErrors.ZeroAmount.selector);
        hub.postBond(poolId, 0);
        vm.prank(BOB);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.UnknownPool.selector, 99));
        hub.postBond(99, 1 ether);
    }

    function test_TheBondEarnsNothing() public {
        _post(OPERATOR, 100 ether);
        creditFees(WORKER, 10 ether);
        hub.harvestPool(poolId);
        // 10 % commission, the rest over 10,000 PHA of stake: the bond's 100 PHA take no part.
        assertEq(hub.poolState(poolId).commissionAccrued, 1 ether, "commission");
        assertApproxEq(hub.pendingRewards(poolId, ALICE), 8.1 ether, 1, "Alice: 9,000 / 10,000 of 9 PHA");
        assertEq(hub.bondOf(poolId), 100 ether, "the bond unchanged");
    }

    function test_MinimumBondIsBoundedByGovernance() public {
        IStakingHub.Params memory p = defaultParams();
        p.minBondPerWorker = uint128(hub.MAX_MIN_BOND_PER_WORKER()) + 1;
        vm.prank(GOVERNANCE);
        vm.expectRevert(IStakingHub.InvalidParams.selector);
        hub.setParams(p);
    }

    // ---------------------------------------------------------------- slash order

    function test_TheBondPaysFirstStakersNothing() public {
        _post(OPERATOR, MIN_BOND);
        uint256 aliceBefore = hub.stakeOf(poolId, ALICE);
        vm.expectEmit(address(hub));
        emit IStakingHub.Slashed(poolId, WORKER, 7, IStakingHub.SlashKind.Timeout, PENALTY, 0, 0, 0, PENALTY);
        assertEq(router.slashForTimeout(WORKER, 7, PENALTY, address(0), 0), PENALTY, "slashed");
        assertEq(hub.bondOf(poolId), MIN_BOND - PENALTY, "from the bond");
        assertEq(hub.stakeOf(poolId, ALICE), aliceBefore, "Alice untouched");
        assertEq(hub.poolState(poolId).activeStake, 10_000 ether, "stake untouched");
        assertEq(pha.balanceOf(TREASURY), PENALTY, "to the treasury");
        // Below the minimum now: out of sampling until the operator tops it up.
        assertEq(hub.poolState(poolId).weight, 0, "out of the draw");
        _post(OPERATOR, PENALTY);
        assertEq(hub.poolState(poolId).weight, 100, "topped up: back");
    }

    function test_BeyondTheBondStakersPayProRata() public {
        _post(OPERATOR, 1 ether);
        uint256 third = hub.sharesOf(poolId, ALICE) / 3;
        vm.prank(ALICE);
        hub.requestWithdrawal(poolId, third); // 3,000 unbonding, 7,000 active
        vm.expectEmit(address(hub));
        emit IStakingHub.Slashed(
            poolId, WORKER, 7, IStakingHub.SlashKind.Timeout, 1 ether, 7 ether, 3 ether, 0.5 ether, 10.5 ether
        );
        router.slashForTimeout(WORKER, 7, 11 ether, REPORTER, 0.5 ether);
        assertEq(hub.bondOf(poolId), 0, "the bond first, all of it");
        assertEq(hub.poolState(poolId).activeStake, 7_000 ether - 7 ether, "then active");
        assertEq(hub.poolState(poolId).unbondingStake, 3_000 ether - 3 ether, "and unbonding, pro rata");
    }

    function test_EquivocationTakesTheBondFirst() public {
        _post(OPERATOR, 100 ether);
        // 20 % of the 10,000 PHA of stake: the bond's 100, then 1,900 from the stakers.
        uint256 slashed = router.slashForEquivocation(WORKER, 7, REPORTER, 0);
        assertEq(slashed, 2_000 ether, "20 % of the stake");
        assertEq(hub.bondOf(poolId), 0, "the bond first");
        assertEq(hub.poolState(poolId).activeStake, 10_000 ether - 1_900 ether, "the rest from stakers");
    }

    // ---------------------------------------------------------------- withdrawal

    function test_TheSurplusAboveTheMinimumLeavesAtOnce() public {
        _post(OPERATOR, MIN_BOND + 5 ether);
        uint256 before = pha.balanceOf(OPERATOR);
        vm.expectEmit(address(hub));
        emit IStakingHub.BondWithdrawn(poolId, 5 ether);
        vm.prank(OPERATOR);
        hub.withdrawBond(poolId, 5 ether);
        assertEq(pha.balanceOf(OPERATOR) - before, 5 ether, "paid to the operator");
        assertEq(hub.bondOf(poolId), MIN_BOND, "the minimum stays");
        assertEq(hub.poolState(poolId).weight, 100, "still sampled");
    }

    /// @dev Attack: the operator pulls its bond while its worker serves (say, right before it skips
    /// its windows). Refused below the minimum per worker, and above what it holds.
    function test_Attack_TheBondCannotLeaveBelowTheMinimumWhileWorkersServe() public {
        _post(OPERATOR, MIN_BOND + 1 ether);
        vm.startPrank(OPERATOR);
        vm.expectRevert(
            abi.encodeWithSelector(IStakingHub.BondBelowMinimum.selector, poolId, MIN_BOND + 1 ether, MIN_BOND)
        );
        hub.withdrawBond(poolId, 1 ether + 1);
        vm.expectRevert(
            abi.encodeWithSelector(IStakingHub.BondBelowMinimum.selector, poolId, MIN_BOND + 1 ether, MIN_BOND)
        );
        hub.withdrawBond(poolId, MIN_BOND + 2 ether);
        vm.stopPrank();
    }

    /// @dev Attack: the operator removes its worker (it still holds requests) to take its bond out
    /// before they time out. The retiring worker's minimum stays until its retirement (RETIRE_DELAY,
    /// the longest request timeout): the timeout is paid from the bond, Alice loses nothing, and the
    /// operator gets back only what is left, once the worker has retired.
    function test_Attack_RemovingTheWorkerDoesNotFreeTheBondBeforeItsWorkIsOver() public {
        _post(OPERATOR, MIN_BOND);
        vm.startPrank(OPERATOR);
        hub.removeWorker(poolId, WORKER);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.BondBelowMinimum.selector, poolId, MIN_BOND, MIN_BOND));
        hub.withdrawBond(poolId, 1);
        vm.stopPrank();
        uint256 aliceBefore = hub.stakeOf(poolId, ALICE);

        // The request it held times out within the router's timeout.
        vm.warp(block.timestamp + 1 days);
        router.slashForTimeout(WORKER, 7, PENALTY, REPORTER, 0);
        assertEq(hub.bondOf(poolId), MIN_BOND - PENALTY, "the bond paid");
        assertEq(hub.stakeOf(poolId, ALICE), aliceBefore, "Alice untouched");

        // Retired (strictly after RETIRE_DELAY, at a settlement): now the bond may leave.
        vm.warp(block.timestamp + 1);
        hub.harvestPool(poolId);
        vm.prank(OPERATOR);
        hub.withdrawBond(poolId, MIN_BOND - PENALTY);
        assertEq(hub.bondOf(poolId), 0, "the rest to the operator");
    }

    /// @dev A retiring worker needs its bond too: while it may still miss, the pool's bond covers
    /// both workers' queues or the pool is not drawn.
    function test_ARetiringWorkerStillNeedsItsBondForThePoolToBeSampled() public {
        _post(OPERATOR, MIN_BOND);
        addWorker(poolId, OPERATOR, WORKER2);
        _post(OPERATOR, MIN_BOND);
        vm.prank(OPERATOR);
        hub.removeWorker(poolId, WORKER2);
        assertEq(hub.poolState(poolId).weight, 100, "one active, one retiring, two bonds: sampled");
        vm.prank(OPERATOR);
        vm.expectRevert(
            abi.encodeWithSelector(IStakingHub.BondBelowMinimum.selector, poolId, 2 * MIN_BOND, 2 * MIN_BOND)
        );
        hub.withdrawBond(poolId, 1);
        router.slashForTimeout(WORKER2, 7, PENALTY, REPORTER, 0);
        assertEq(hub.poolState(poolId).weight, 0, "short of the retiring worker's cover: out");
    }

    function _post(address payer, uint256 amount) internal {
        fund(payer, amount);
        vm.prank(payer);
        hub.postBond(poolId, amount);
    }
}
