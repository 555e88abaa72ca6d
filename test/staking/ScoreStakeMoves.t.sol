// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AllocatorFixture} from "./AllocatorFixture.sol";

/// @notice Review s24 (HIGH): the allocator's score read a per-stake return index that grew, at
/// every (public) harvest, by the rewards over the active stake AT THAT MOMENT, and stakes read at
/// snapshots only. Moving stake between or around snapshots then bought score or entry for free:
/// - unbond all but 1 PHA, harvest 1 PHA of self-paid fees, re-stake before the next snapshot: the
///   index moved as if 12,000 PHA had been paid on 12,000 PHA (score 0.27 a day, the vault's cap);
/// - stake present only at the rebalance raised the pool's entry limit (the vault entered with up
///   to the newest snapshot's stake);
/// - a griefer's stake parked in an honest competitor at the rebalance diluted its score.
/// The rule now (VaultAllocator, PoolPerformance): the score is PHA actually paid to stakers over
/// the window (the hub's running total) over the time-weighted stake plus the vault at its cap; the
/// vault's limit is half the stake kept throughout the window (the smaller of the smallest snapshot
/// and the time-weighted stake), and at most the rest of the pool's stake now. Each attack is run against the same run without the stake moves: the
/// moves must change nothing the vault does.
contract ScoreStakeMovesTest is AllocatorFixture {
    address internal constant GRIEFER = address(0x6E1);
    uint256 internal constant BIG = 12_000 ether;
    uint256 internal constant KEEP = 1 ether;

    // ------------------------------------------------------------------ the review's attack

    /// The review's attack, with the attacker's pool serving no honest traffic: its score comes only
    /// from the 1 PHA it pays itself once. Run with the index jump (unbond to 1 PHA around the
    /// harvest) and without (the same 1 PHA harvested on the whole stake): the vault must do the
    /// same in both.
    function test_attack_indexJumpBetweenSnapshots_scoresOnlyThePhaPaid() public {
        uint256 start = vm.snapshotState();
        (uint256 scoreJump, uint256 heldJump, uint256 honestJump) = _indexJumpRun(true);
        vm.revertToState(start);
        (uint256 scorePlain, uint256 heldPlain,) = _indexJumpRun(false);
        emit Measured("attacker score with the index jump (1e18 = 100%/epoch)", scoreJump);
        emit Measured("attacker score, same fees, no stake move", scorePlain);
        emit Measured("honest pool A score", honestJump);
        emit Measured("vault stake in the attacker's pool with the jump (wei)", heldJump);
        emit Measured("vault stake in the attacker's pool without (wei)", heldPlain);
        assertApproxEq(scoreJump, scorePlain, scorePlain / 100, "moving stake around the harvest changes no score");
        assertLe(heldJump, heldPlain + 1 ether, "nor what the vault places there");
        // 1 PHA of fees, 0.8 PHA to stakers over 3 epochs, spread over at least the cap (12,000 PHA).
        assertLe(scoreJump, uint256(0.8 ether) * 1e18 / WINDOW / 12_000 ether + 1, "at most what was paid, over the cap");
        assertTrue(scoreJump < honestJump, "below an honest pool paying 0.03 % a day");
    }

    /// @return score The attacker's pool's score after WINDOW rebalances; held the most the vault
    /// held in it; honest pool A's score.
    function _indexJumpRun(bool jump) internal returns (uint256 score, uint256 held, uint256 honest) {
        stakeAs(ATTACKER, poolX, BIG);
        _honestTraffic();
        allocator.rebalance();
        vm.warp(block.timestamp + 1 days);
        if (jump) {
            uint256 shares = hub.sharesOf(poolX, ATTACKER) - hub.sharesForStake(poolX, KEEP);
            vm.prank(ATTACKER);
            hub.requestWithdrawal(poolX, shares);
        }
        creditFees(WORKER_X, 1 ether);
        hub.harvestPool(poolX);
        if (jump) stakeAs(ATTACKER, poolX, BIG - KEEP); // fresh capital
        for (uint256 e; e < WINDOW; ++e) {
            _honestTraffic();
            allocator.rebalance();
            vm.warp(block.timestamp + 1 days);
            held = _max(held, hub.stakeOf(poolX, address(vault)));
        }
        uint256[] memory s = allocator.scores();
        (score, honest) = (s[2], s[0]);
    }

    // ------------------------------------------------------------------ stake around snapshots

    /// The attacker keeps 1,000 PHA in its pool and pays itself 10 PHA a day (a score above the honest
    /// pools'), then stakes 12,000 PHA one block before the rebalance. The vault enters with at most
    /// half the stake kept there through the window.
    function test_attack_stakeOnlyAtTheRebalance_doesNotRaiseTheEntry() public {
        uint256 own = 1_000 ether; // above the drift (1% of the vault): smaller moves are skipped
        stakeAs(ATTACKER, poolX, own);
        for (uint256 e; e < WINDOW; ++e) {
            _honestTraffic();
            creditFees(WORKER_X, 10 ether);
            allocator.rebalance();
            vm.warp(block.timestamp + 1 days);
        }
        _honestTraffic();
        creditFees(WORKER_X, 10 ether);
        stakeAs(ATTACKER, poolX, BIG);
        vm.warp(block.timestamp + 12);
        allocator.rebalance();
        uint256 held = hub.stakeOf(poolX, address(vault));
        emit Measured("vault stake in the pool after the rebalance (wei)", held);
        assertTrue(held > 0, "the pool's score earns it an entry");
        assertLe(held, own / 2, "at most half the stake kept there throughout");
    }

    /// Stake present at every snapshot but gone in between (unbonded right after each, fresh capital
    /// staked before the next) counts for what it was over time, not at the snapshots.
    function test_attack_stakeOnlyAroundEverySnapshot_doesNotRaiseTheEntry() public {
        uint256 own = 1_000 ether; // above the drift (1% of the vault): smaller moves are skipped
        stakeAs(ATTACKER, poolX, own);
        for (uint256 e; e <= WINDOW; ++e) {
            _honestTraffic();
            creditFees(WORKER_X, 10 ether);
            stakeAs(ATTACKER, poolX, BIG);
            vm.warp(block.timestamp + 12);
            allocator.rebalance();
            if (e == WINDOW) break;
            uint256 shares = hub.sharesOf(poolX, ATTACKER) - hub.sharesForStake(poolX, own);
            vm.prank(ATTACKER);
            hub.requestWithdrawal(poolX, shares);
            vm.warp(block.timestamp + 1 days - 12);
        }
        uint256 held = hub.stakeOf(poolX, address(vault));
        emit Measured("vault stake in the pool after the window (wei)", held);
        // The 12,000 PHA were there 12 s of every day: 1.7 PHA of time-weighted stake.
        assertTrue(held > 0, "the pool's score earns it an entry");
        assertLe(held, (own + BIG * 12 / 1 days) / 2 + 1 ether, "at most half the stake kept there throughout");
    }

    /// A griefer stakes 50,000 PHA in honest pool A one block before the rebalance (and unbonds right
    /// after): A's score, and the vault's stake in A, are what they would be without it.
    function test_attack_stakeParkedInACompetitorAtTheRebalance_changesNothing() public {
        uint256 start = vm.snapshotState();
        (uint256 scoreGriefed, uint256 heldGriefed) = _griefRun(true);
        vm.revertToState(start);
        (uint256 scorePlain, uint256 heldPlain) = _griefRun(false);
        emit Measured("pool A score with a griefer's stake at the rebalance", scoreGriefed);
        emit Measured("pool A score without", scorePlain);
        emit Measured("vault stake in pool A with (wei)", heldGriefed);
        emit Measured("vault stake in pool A without (wei)", heldPlain);
        assertApproxEq(scoreGriefed, scorePlain, scorePlain / 1_000, "score unchanged");
        assertApproxEq(heldGriefed, heldPlain, heldPlain / 1_000, "the vault's stake in A unchanged");
    }

    function _griefRun(bool grief) internal returns (uint256 score, uint256 held) {
        for (uint256 e; e < WINDOW; ++e) {
            _honestTraffic();
            allocator.rebalance();
            vm.warp(block.timestamp + 1 days);
        }
        _honestTraffic();
        if (grief) stakeAs(GRIEFER, poolA, 50_000 ether);
        vm.warp(block.timestamp + 12);
        allocator.rebalance();
        (score, held) = (allocator.scores()[0], hub.stakeOf(poolA, address(vault)));
    }

    // ------------------------------------------------------------------ many small pools

    /// One attacker with 1,000 PHA split over two pools of 500 PHA, each paying itself 5 PHA a day
    /// (its fees cost 5.253 PHA: the protocol's cut and relay gas, as in ReturnInflation.t.sol), with
    /// honest traffic on every pool: splitting lets the pair pass the per-pool cap together, but the
    /// vault's weight is bought with PHA the vault then takes its share of; against the same run
    /// without self-paid fees the attacker ends poorer, paying for 4 epochs or for all 30.
    function test_attack_splitOverPools_notProfitable() public {
        address worker2 = address(0x2BAD);
        uint256 poolY = createPool(ATTACKER, 2_000);
        addWorker(poolY, ATTACKER, worker2);
        stakeAs(ATTACKER, poolX, 500 ether);
        stakeAs(ATTACKER, poolY, 500 ether);
        uint256[] memory ids = new uint256[](4);
        (ids[0], ids[1], ids[2], ids[3]) = (poolA, poolB, poolX, poolY);
        vm.prank(CURATOR);
        allocator.setCandidates(ids);
        for (uint256 paying = 4; paying <= 30; paying += 26) {
            uint256 start = vm.snapshotState();
            (int256 honest,) = _splitRun(poolY, worker2, 0);
            vm.revertToState(start);
            (int256 attacked, uint256 held) = _splitRun(poolY, worker2, paying);
            vm.revertToState(start);
            emit Measured("epochs paying", paying);
            emit Measured("most vault stake in the two pools together (wei)", held);
            emit MeasuredSigned("attack profit over the honest baseline (wei)", attacked - honest);
            assertTrue(attacked < honest, "splitting the attack over pools does not pay");
        }
    }

    /// @return net The attacker's commission and rewards in both pools less what its fees cost, over
    /// 30 epochs of which the first `paying` self-paid; held the most the vault held in the two.
    function _splitRun(uint256 poolY, address worker2, uint256 paying) internal returns (int256 net, uint256 held) {
        uint256 cost;
        for (uint256 e; e < 30; ++e) {
            creditFees(WORKER_X, hub.poolState(poolX).activeStake * FEES_PPM / 1e6 + (e < paying ? 5 ether : 0));
            creditFees(worker2, hub.poolState(poolY).activeStake * FEES_PPM / 1e6 + (e < paying ? 5 ether : 0));
            if (e < paying) cost += 2 * 5.253 ether;
            _honestTraffic();
            allocator.rebalance();
            vm.warp(block.timestamp + 1 days);
            held = _max(held, hub.stakeOf(poolX, address(vault)) + hub.stakeOf(poolY, address(vault)));
        }
        hub.harvestPool(poolX);
        hub.harvestPool(poolY);
        uint256 earned = hub.poolState(poolX).commissionAccrued + hub.pendingRewards(poolX, ATTACKER)
            + hub.poolState(poolY).commissionAccrued + hub.pendingRewards(poolY, ATTACKER);
        net = int256(earned) - int256(cost);
    }
}
