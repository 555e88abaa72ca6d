// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {VaultFixture} from "./VaultFixture.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {PoolPerformance, IStakingHubPools} from "../../contracts/staking/PoolPerformance.sol";
import {VaultAllocator, IManagedVault, IAllocatorHub} from "../../contracts/staking/VaultAllocator.sol";
import {IVaultAllocator} from "../../contracts/staking/IVaultAllocator.sol";

/// @notice The permissionless allocation rule: weights from realised returns, the per-pool cap,
/// minimum stay, failing pools, the curator's bounds and rebalance timing.
contract VaultAllocatorTest is VaultFixture {
    address internal constant CURATOR = address(0xC0);
    address internal constant WORKER_C = address(0x1003);
    address internal constant OPERATOR_C = address(0x0C);
    uint16 internal constant CAP = 4_000;
    uint16 internal constant WINDOW = 3;
    uint16 internal constant MIN_STAY = 2;
    uint256 internal constant DEPOSIT = 30_000 ether;

    PoolPerformance internal performance;
    VaultAllocator internal allocator;
    uint256 internal poolC;

    function setUp() public override {
        super.setUp();
        poolC = createPool(OPERATOR_C, 0);
        addWorker(poolC, OPERATOR_C, WORKER_C);
        stakeAs(OPERATOR, poolA, 2_000 ether);
        stakeAs(OPERATOR_B, poolB, 2_000 ether);
        stakeAs(OPERATOR_C, poolC, 2_000 ether);
        performance = new PoolPerformance(IStakingHubPools(address(hub)));
        allocator = new VaultAllocator(
            IManagedVault(address(vault)),
            IAllocatorHub(address(hub)),
            performance,
            VaultAllocator.Bounds({maxPoolShareBps: 5_000, minWindow: 2, maxWindow: 10, minStay: 1, maxDriftBps: 500}),
            VaultAllocator.Params({maxPoolShareBps: CAP, window: WINDOW, minStay: MIN_STAY, driftBps: 100}),
            CURATOR,
            GOVERNANCE
        );
        vm.prank(GOVERNANCE);
        vault.setManager(address(allocator));
        uint256[] memory ids = new uint256[](3);
        (ids[0], ids[1], ids[2]) = (poolA, poolB, poolC);
        vm.prank(CURATOR);
        allocator.setCandidates(ids);
        depositAs(ALICE, DEPOSIT);
    }

    // ---------------------------------------------------------------- weights

    /// Pools large enough for the vault's cap (32,000 PHA each, room 16,000 > the 12,000 cap): the
    /// weights follow the scores. The reference is the stake-weighted score of the best placement of
    /// the 30,000 PHA (12,000 in A, 12,000 in B, 6,000 in C); A, above it, takes the cap; B and C take
    /// the cap times their score over the reference; what none can take stays idle.
    function test_Weights_FollowReturnsAndAreCapped() public {
        stakeAs(OPERATOR, poolA, 30_000 ether);
        stakeAs(OPERATOR_B, poolB, 30_000 ether);
        stakeAs(OPERATOR_C, poolC, 30_000 ether);
        _epochs(WINDOW + 1, 300 ether, 200 ether, 100 ether);
        uint256[] memory w = allocator.targetWeights();
        uint256[] memory s = allocator.scores();
        uint256 ref = allocator.referenceScore();
        assertTrue(s[0] > s[1] && s[1] > s[2], "scores follow the PHA paid");
        // ref = (12,000 × s_A + 12,000 × s_B + 6,000 × s_C) / 30,000, within rounding.
        assertApproxEq(ref, (12 * s[0] + 12 * s[1] + 6 * s[2]) / 30, ref / 1_000, "the best placement's score");
        assertEq(w[0], CAP, "A capped");
        assertApproxEq(w[1], CAP * s[1] / ref, 1, "B: the cap x its score / the reference");
        assertApproxEq(w[2], CAP * s[2] / ref, 1, "C: the cap x its score / the reference");
        assertTrue(w[0] > w[1] && w[1] > w[2], "weights follow the scores");
        assertTrue(w[0] + w[1] + w[2] < 10_000, "the rest stays idle");
    }

    /// Pools smaller than the vault's cap (2,000 PHA each): each takes its room, the stake the vault
    /// may hold there, and the vault ramps into each as the stake kept through the window allows.
    function test_Weights_RoomBoundsAndRamp() public {
        _epochs(WINDOW + 1, 30 ether, 20 ether, 10 ether);
        uint256[] memory w = allocator.targetWeights();
        uint256 total = vault.totalAssets();
        for (uint256 i; i < 3; ++i) {
            uint256 room = allocator.limitOf(allocator.candidates()[i]);
            assertLe(w[i], (room * 10_000 + total - 1) / total, "no weight beyond the room");
        }
        assertTrue(w[0] + w[1] + w[2] < 10_000, "the rest stays idle");
        // The vault enters each pool with at most half the stake the pool kept through the window
        // (2,000 PHA), then its limit closes half the gap to the rest's 2,000 per window.
        assertEq(hub.stakeOf(poolA, address(vault)), 1_000 ether, "A entered with half what it kept");
        assertEq(hub.stakeOf(poolC, address(vault)), 1_000 ether, "C entered with half what it kept");
        _epochs(WINDOW, 30 ether, 20 ether, 10 ether);
        assertEq(hub.stakeOf(poolA, address(vault)), 1_000 ether, "A waits for the window to show the vault's stake kept");
        _epochs(1, 30 ether, 20 ether, 10 ether);
        assertEq(hub.stakeOf(poolA, address(vault)), 1_500 ether, "then (2,000 + 1,000) / 2");
        _epochs(4 * WINDOW, 30 ether, 20 ether, 10 ether);
        for (uint256 i; i < 3; ++i) {
            uint256 id = allocator.candidates()[i];
            assertLe(hub.stakeOf(id, address(vault)), 2_000 ether, "never above the rest's stake");
            // The next step, to 1,750, is within the drift (1 % of the vault, 300 PHA): skipped.
            assertGe(hub.stakeOf(id, address(vault)), 1_500 ether, "and ramped toward it");
        }
    }

    /// A barely positive pool next to two strong ones used to get all the room the cap left them
    /// (water-filling's remainder: 20 % of the vault). Its weight is now capped at the cap times its
    /// score over the reference score, and the rest of the vault stays idle.
    function test_Weights_WeakPoolGetsNoRemainder() public {
        _epochs(WINDOW + 1, 30 ether, 30 ether, 0.3 ether);
        uint256[] memory w = allocator.targetWeights();
        uint256[] memory s = allocator.scores();
        assertTrue(s[2] > 0, "C's score is positive");
        assertLe(w[2], CAP * s[2] / allocator.referenceScore(), "C at most the cap x its score / the reference");
        assertLe(w[2], 100, "C: at most 1 % (was the 20 % remainder)");
        assertTrue(w[0] + w[1] + w[2] <= 8_000 + 100, "the remainder stays idle");
        assertLe(hub.stakeOf(poolC, address(vault)), DEPOSIT * 100 / 10_000, "and the vault's stake in C with it");
    }

    function test_NoHistory_NothingMoves() public {
        allocator.rebalance();
        assertEq(vault.availableLiquidity(), DEPOSIT, "idle until a window of returns exists");
    }

    function test_Rebalance_OncePerEpoch() public {
        allocator.rebalance();
        vm.expectRevert(abi.encodeWithSelector(IVaultAllocator.AlreadyRebalanced.selector, 0));
        allocator.rebalance();
    }

    // ---------------------------------------------------------------- failing pools

    /// A pool slashed beyond what it earned over the window (here an equivocation, 20%) has a
    /// negative return: its whole stake is unbonded at the next rebalance, minimum stay or not.
    function test_SlashedPool_UnbondedAtTheNextRebalance() public {
        _epochs(WINDOW + 1, 30 ether, 20 ether, 10 ether);
        uint256 before = hub.stakeOf(poolC, address(vault));
        assertTrue(before != 0, "C held");
        assertEq(allocator.stayStartEpoch(poolC), performance.currentEpoch() - 1, "given stake last epoch");
        router.slashForEquivocation(WORKER_C, 1, BOB, 0);
        allocator.rebalance(); // within C's minimum stay
        assertEq(hub.stakeOf(poolC, address(vault)), 0, "C unbonded");
    }

    /// Attack (review finding): a pool slashed to half its value, emptied by its stakers and re-staked
    /// used to show its share value reset to 1 as a gain (+11% per epoch over the window), so the rule
    /// gave it the 40% cap and placed the vault's idle PHA in it, though it earned nothing. The score now reads the PHA the pool paid its
    /// stakers minus slashes (the hub's running total), which no exit or re-stake moves.
    function test_EmptiedAndRestakedSlashedPool_ShowsNoFakeReturn() public {
        _epochs(WINDOW + 1, 30 ether, 20 ether, 10 ether);
        router.slashForTimeout(WORKER_C, 1, hub.poolState(poolC).activeStake / 2, BOB, 0);
        _epochs(1, 30 ether, 20 ether, 0); // failing: the vault unbonds C
        assertEq(hub.sharesOf(poolC, address(vault)), 0, "vault left C");
        uint256 operatorShares = hub.sharesOf(poolC, OPERATOR_C);
        vm.prank(OPERATOR_C);
        hub.requestWithdrawal(poolC, operatorShares);
        assertEq(hub.poolState(poolC).activeShares, 0, "C emptied");
        stakeAs(OPERATOR_C, poolC, 2_000 ether); // re-staked: a fresh share is worth 1 PHA again
        vm.warp(block.timestamp + UNBONDING + 1 days);
        vault.completePoolWithdrawals(vault.pendingWithdrawals()); // the vault has idle PHA to place
        for (uint256 e; e <= WINDOW; ++e) {
            _epochs(1, 30 ether, 20 ether, 0); // C earns nothing
            (bool ok, int256 paid,) = performance.rewardsOver(poolC, WINDOW);
            assertTrue(!ok || paid <= 0, "nothing paid by a pool that earned nothing");
            assertEq(allocator.targetWeights()[2], 0, "no weight");
            assertEq(hub.stakeOf(poolC, address(vault)), 0, "no allocation");
        }
    }

    /// Attack: a curator protecting a failing pool drops it from the candidates and sets a long
    /// minimum stay (the bounds only floor it): a dropped pool's stake used to wait the minimum stay
    /// whatever its return. Dropped pools the vault still holds are now measured too, and one whose
    /// return is negative is unbonded at once.
    function test_DroppedSlashedPool_UnbondedAtOnceWhateverTheMinimumStay() public {
        _epochs(WINDOW + 1, 30 ether, 20 ether, 10 ether);
        assertTrue(hub.stakeOf(poolC, address(vault)) != 0, "C held");
        vm.startPrank(CURATOR);
        allocator.setParams(VaultAllocator.Params({maxPoolShareBps: CAP, window: WINDOW, minStay: 1_000, driftBps: 100}));
        uint256[] memory ab = new uint256[](2);
        (ab[0], ab[1]) = (poolA, poolB);
        allocator.setCandidates(ab);
        vm.stopPrank();
        router.slashForEquivocation(WORKER_C, 1, BOB, 0);
        allocator.rebalance();
        assertEq(hub.stakeOf(poolC, address(vault)), 0, "C unbonded at the next rebalance");
    }

    /// A pool that stops earning loses all its allocation within WINDOW + 1 epochs.
    function test_PoolThatStopsEarning_LosesItsAllocationWithinTheWindow() public {
        _epochs(WINDOW + 1, 30 ether, 20 ether, 10 ether);
        assertTrue(hub.stakeOf(poolC, address(vault)) != 0, "C held");
        for (uint256 e = 1; e <= WINDOW + 1; ++e) {
            _epochs(1, 30 ether, 20 ether, 0);
            if (hub.stakeOf(poolC, address(vault)) == 0) return;
        }
        assertEq(hub.stakeOf(poolC, address(vault)), 0, "C unbonded within WINDOW + 1 epochs");
    }

    /// A pool whose return falls (not negative) keeps its stake for the minimum stay.
    function test_MinimumStay_HoldsAFreshAllocation() public {
        vm.prank(CURATOR);
        allocator.setParams(VaultAllocator.Params({maxPoolShareBps: 5_000, window: WINDOW, minStay: MIN_STAY, driftBps: 100}));
        _epochs(WINDOW + 1, 30 ether, 20 ether, 10 ether);
        uint256 held = hub.stakeOf(poolC, address(vault));
        _epochs(1, 3_000 ether, 2_000 ether, 0); // the epoch right after C was given stake
        uint256 wanted = DEPOSIT * allocator.targetWeights()[2] / 10_000;
        assertLe(wanted + DEPOSIT / 100, held, "the rule wants C reduced");
        assertEq(hub.stakeOf(poolC, address(vault)), held, "kept during the minimum stay");
        _epochs(MIN_STAY - 1, 3_000 ether, 2_000 ether, 0);
        assertLe(hub.stakeOf(poolC, address(vault)), held - DEPOSIT / 100, "reduced once the stay is over");
    }

    // ---------------------------------------------------------------- steering

    function test_Curator_CannotSetParamsBeyondGovernanceBounds() public {
        vm.prank(CURATOR);
        vm.expectRevert(IVaultAllocator.ParamsOutOfBounds.selector);
        allocator.setParams(VaultAllocator.Params({maxPoolShareBps: 5_001, window: WINDOW, minStay: MIN_STAY, driftBps: 100}));
        vm.prank(CURATOR);
        vm.expectRevert(IVaultAllocator.ParamsOutOfBounds.selector);
        allocator.setParams(VaultAllocator.Params({maxPoolShareBps: CAP, window: WINDOW, minStay: 0, driftBps: 100}));
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(IVaultAllocator.NotCurator.selector, OPERATOR));
        allocator.setParams(VaultAllocator.Params({maxPoolShareBps: CAP, window: WINDOW, minStay: MIN_STAY, driftBps: 100}));
        vm.prank(GOVERNANCE);
        vm.expectRevert(IVaultAllocator.InvalidBounds.selector);
        allocator.setBounds(VaultAllocator.Bounds({maxPoolShareBps: 5_001, minWindow: 2, maxWindow: 10, minStay: 1, maxDriftBps: 500}));
    }

    /// The old manager is gone: only the rule moves the vault's stake.
    function test_Curator_CannotAllocateDirectly() public {
        vm.prank(CURATOR);
        vm.expectRevert();
        vault.allocate(poolA, 1 ether);
    }

    /// A curator listing only its own pool, or an operator pumping fees into its pool, gets at most
    /// the cap of the vault; the rest stays idle.
    function test_SingleCandidate_GetsAtMostTheCap() public {
        uint256[] memory only = new uint256[](1);
        only[0] = poolA;
        vm.prank(CURATOR);
        allocator.setCandidates(only);
        _epochs(WINDOW + 1, 1_000 ether, 0, 0);
        assertLe(hub.stakeOf(poolA, address(vault)), DEPOSIT * CAP / 10_000, "capped");
        assertGe(vault.availableLiquidity(), DEPOSIT * (10_000 - CAP) / 10_000, "rest idle");
    }

    /// A curator who swaps the candidate list while earlier positions still unbond can leave the
    /// vault holding MAX_POOLS pools: a new candidate is then skipped, and the rebalance (with its
    /// unbonding of failing pools) still runs instead of reverting TooManyPools.
    function test_FullVault_NewCandidateSkippedRebalanceStillRuns() public {
        vm.prank(GOVERNANCE);
        vault.setManager(address(this));
        vault.allocate(poolA, 1 ether);
        vault.allocate(poolB, 1 ether);
        for (uint256 i; i < vault.MAX_POOLS() - 2; ++i) {
            vault.allocate(createPool(address(uint160(0x5000 + i)), 0), 1 ether);
        }
        vm.prank(GOVERNANCE);
        vault.setManager(address(allocator));
        assertEq(vault.pools().length, vault.MAX_POOLS(), "every position taken");

        _epochs(WINDOW + 1, 30 ether, 20 ether, 10 ether);
        assertEq(hub.stakeOf(poolC, address(vault)), 0, "no position beyond MAX_POOLS");
        assertTrue(hub.stakeOf(poolA, address(vault)) > 1 ether, "held candidates still allocated");
    }

    function test_Candidates_Validated() public {
        uint256[] memory ids = new uint256[](2);
        (ids[0], ids[1]) = (poolA, poolA);
        vm.prank(CURATOR);
        vm.expectRevert(abi.encodeWithSelector(IVaultAllocator.DuplicateCandidate.selector, poolA));
        allocator.setCandidates(ids);
        ids[1] = 99;
        vm.prank(CURATOR);
        vm.expectRevert(abi.encodeWithSelector(IVaultAllocator.UnknownPool.selector, 99));
        allocator.setCandidates(ids);
    }

    // ---------------------------------------------------------------- timing

    /// A deposit just before a rebalance and a redemption request just after gain nothing: the
    /// rebalance moves stake at the hub's rates and leaves the vault's value where it was.
    function test_Rebalance_CannotBeSandwiched() public {
        _epochs(WINDOW, 30 ether, 20 ether, 10 ether);
        vm.warp(block.timestamp + 1 days);
        creditFees(WORKER_A, 30 ether);
        uint256[] memory ids = allocator.candidates();
        performance.record(ids); // settles the pools: fees are seen (and locked) before the sandwich
        uint256 assetsBefore = vault.totalAssets();
        uint256 shares = depositAs(BOB, 100_000 ether);
        uint256 valueBefore = vault.convertToAssets(shares);
        allocator.rebalance();
        assertApproxEq(vault.totalAssets(), assetsBefore + 100_000 ether, 10, "value unchanged by the rebalance");
        assertLe(vault.convertToAssets(shares), valueBefore + 1, "the sandwich gains nothing");
    }

    // ---------------------------------------------------------------- fuzz

    function testFuzz_WeightsWithinCapAndTotal(uint96 a, uint96 b, uint96 c) public {
        _epochs(WINDOW + 1, bound(a, 0, 10_000 ether), bound(b, 0, 10_000 ether), bound(c, 0, 10_000 ether));
        uint256[] memory w = allocator.targetWeights();
        uint256 sum;
        for (uint256 i; i < w.length; ++i) {
            assertLe(w[i], CAP, "capped");
            sum += w[i];
        }
        assertLe(sum, 10_000, "at most everything");
        uint256[] memory ids = allocator.candidates();
        uint256 total = vault.availableLiquidity();
        for (uint256 i; i < ids.length; ++i) {
            total += hub.stakeOf(ids[i], address(vault));
        }
        for (uint256 i; i < w.length; ++i) {
            assertLe(hub.stakeOf(ids[i], address(vault)), DEPOSIT * CAP / 10_000 + 1, "stake within the cap");
            assertLe(w[i], (allocator.limitOf(ids[i]) * 10_000 + total - 1) / total, "weight within the room");
        }
    }

    // ---------------------------------------------------------------- helpers

    /// @dev `count` epochs in which each pool earns the given fees, each ended by a rebalance.
    function _epochs(uint256 count, uint256 feesA, uint256 feesB, uint256 feesC) internal {
        for (uint256 i; i < count; ++i) {
            if (feesA != 0) creditFees(WORKER_A, feesA);
            if (feesB != 0) creditFees(WORKER_B, feesB);
            if (feesC != 0) creditFees(WORKER_C, feesC);
            allocator.rebalance();
            vm.warp(block.timestamp + 1 days);
        }
    }
}
