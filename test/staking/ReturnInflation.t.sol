// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AllocatorFixture} from "./AllocatorFixture.sol";

/// @notice Review s23, F3: a pool whose operator is its only shareholder pays fees to its own worker
/// (its own agent, its own worker: the requests can be aimed, see DESIGN.md) and shows a return far
/// above honest pools' at the cost of the protocol's cut, since the fees come back to it. On the old
/// rule a 1,000 PHA pool paying itself 10 PHA a day showed 1 % a day and drew the vault's cap.
/// Now (VaultAllocator): the score spreads the pool's reward stream over its stake with the vault at
/// its cap, and the vault holds at most half the pool's stake kept through the window and at most
/// the rest of the pool's stake now (VaultAllocator.limitOf). The attack is run against an honest baseline (same pools, same honest traffic, no
/// self-paid fees) and must leave the attacker poorer, whether it stops paying as soon as the vault
/// enters (the tail: the vault's stake stays while the score decays) or keeps paying.
contract ReturnInflationTest is AllocatorFixture {
    uint256 internal constant ATTACKER_STAKE = 1_000 ether;
    /// @dev The review's figures: 100 self-paid requests a day put 10 PHA in the pool and cost the
    /// requester 10.506 PHA (protocol fee and relay gas at the deployed configuration).
    uint256 internal constant SELF_PAID = 10 ether;
    uint256 internal constant SELF_PAID_COST = 10.506 ether;
    uint256 internal constant EPOCHS = 30;

    function setUp() public override {
        super.setUp();
        stakeAs(ATTACKER, poolX, ATTACKER_STAKE);
    }

    /// The review's attack: 10 PHA a day paid to itself. The vault enters with at most half the pool's
    /// 1,000 PHA, and the score is what that stream would pay over 1,000 + the cap (13,000 PHA).
    function test_attack_selfPaidFees_EntryBoundedAndScoreDiluted() public {
        uint256 maxHeld;
        for (uint256 e; e <= WINDOW; ++e) {
            maxHeld = _max(maxHeld, _epoch(true));
        }
        assertEq(maxHeld, ATTACKER_STAKE / 2, "the vault enters with at most half the pool's kept stake");
        (bool ok, int256 paid,) = performance.rewardsOver(poolX, WINDOW);
        // 10 PHA a day less 20 % commission: 8 PHA a day to stakers (0.8 % of the pool's 1,000 PHA).
        assertTrue(ok && paid > 8 ether, "the pool pays its stakers ~8 PHA a day");
        uint256 score = allocator.scores()[2];
        uint256 cap = (vault.availableLiquidity() + _held(poolA) + _held(poolB) + _held(poolX)) * CAP / 10_000;
        // spread = the pool's other stake + max(held, cap) ≥ cap (12,000 PHA).
        assertLe(score, uint256(paid) * 1e18 / cap, "score diluted by the vault's cap");
        emit MeasuredSigned("PHA the pool paid its stakers per epoch (wei)", paid);
        emit Measured("its score (1e18 = 100%)", score);
    }

    /// Stop paying as soon as the vault has entered (the cheapest way to buy its stake: the score
    /// decays over the window while the vault's stake stays).
    function test_attack_stopWhenTheVaultEnters_NotProfitable() public {
        _assertUnprofitable(WINDOW + 1);
    }

    /// Keep paying through the ramp (the vault takes its share of every self-paid fee).
    function test_attack_keepPaying_NotProfitable() public {
        _assertUnprofitable(EPOCHS);
    }

    /// Every length of the attack from one epoch to the whole run.
    function test_attack_anyLength_NotProfitable() public {
        for (uint256 paying = 1; paying <= 12; ++paying) {
            _assertUnprofitable(paying);
        }
    }

    function _assertUnprofitable(uint256 payingEpochs) internal {
        uint256 start = vm.snapshotState();
        (int256 honest,) = _run(0);
        vm.revertToState(start);
        (int256 attacked, uint256 maxHeld) = _run(payingEpochs);
        vm.revertToState(start);
        int256 profit = attacked - honest;
        emit Measured("epochs paying", payingEpochs);
        emit Measured("largest vault stake in the attacker's pool (wei)", maxHeld);
        emit MeasuredSigned("attack profit over the honest baseline (wei)", profit);
        assertTrue(profit < 0, "the attack costs more than it earns");
    }

    /// @return net What the attacker ends with beyond its stake (commission + its rewards − what
    /// the self-paid fees cost it), over EPOCHS epochs of which the first `payingEpochs` self-paid.
    function _run(uint256 payingEpochs) internal returns (int256 net, uint256 maxHeld) {
        uint256 paid;
        for (uint256 e; e < EPOCHS; ++e) {
            bool paying = e < payingEpochs;
            if (paying) paid += SELF_PAID_COST;
            maxHeld = _max(maxHeld, _epoch(paying));
        }
        hub.harvestPool(poolX);
        uint256 earned = hub.poolState(poolX).commissionAccrued + hub.pendingRewards(poolX, ATTACKER);
        net = int256(earned) - int256(paid);
    }

    /// One epoch: honest traffic to every pool in proportion to its stake, the attacker's fees if
    /// paying, a rebalance. Returns the vault's stake in the attacker's pool after it.
    function _epoch(bool paying) internal returns (uint256) {
        creditFees(WORKER_A, hub.poolState(poolA).activeStake * FEES_PPM / 1e6);
        creditFees(WORKER_B, hub.poolState(poolB).activeStake * FEES_PPM / 1e6);
        creditFees(WORKER_X, hub.poolState(poolX).activeStake * FEES_PPM / 1e6 + (paying ? SELF_PAID : 0));
        allocator.rebalance();
        vm.warp(block.timestamp + 1 days);
        return _held(poolX);
    }
}
