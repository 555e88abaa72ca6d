// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AllocatorFixture} from "./AllocatorFixture.sol";

/// @notice Review s26, V-1 (medium-low): weights were capped at maxPoolShareBps × score / best
/// score, the best taken over every candidate. A candidate that snapshots itself at 0 stake (its
/// limit 0: the vault never enters it) while paying itself a high score became the best score and
/// cut every other pool's cap ~17 ×: the vault sat idle (its stake in the honest pools 17,500 → 837
/// PHA over 12 epochs, for ~36 PHA of the attacker's fees). The rule now: a pool's weight never
/// exceeds what the vault can hold there (its room: its limit, up to the cap, nothing within the
/// drift), and the reference score the caps are relative to is the stake-weighted score of the best
/// cap's worth of PHA the vault can place, each pool counting for its room only. A pool moves the
/// reference only as far as the vault holds stake in it and is paid its stream there. Each attack
/// runs against the same 12 epochs without it (the attacker's pools staked alike, paying nothing).
contract VaultAllocatorReferenceTest is AllocatorFixture {
    uint256 internal constant EPOCHS = 12;
    /// @dev The burst run is longer: stake the vault unbonded comes back after the 7-day unbonding.
    uint256 internal constant BURST_EPOCHS = 20;
    uint256 internal constant CHUNK = 1_000 ether; // the minimum stake per worker
    uint256 internal constant SELF_PAID = 60 ether; // per epoch
    /// @dev What paying itself 1 PHA costs the attacker beyond the PHA its pool pays back: the
    /// protocol's 5 % and relay gas (5.253 PHA per 5 PHA, as in ScoreStakeMoves).
    uint256 internal constant COST_PER_PHA_PAID = 0.0506 ether;
    address internal constant WORKER_X2 = address(0x2BAD);

    enum Attack {
        None,
        ZeroSnapshot, // the review's: X at 0 stake at its own snapshot every third epoch
        SmallRoom, // X keeps 1,000 PHA: room 500 PHA, just above the 300 PHA drift
        TwoSmallPools, // X and X2 keep 1,000 PHA each and pay 30 PHA an epoch each
        Burst // X keeps 1,000 PHA and pays 180 PHA in one epoch (60 a day over the window)
    }

    struct Run {
        uint256 honestHeld; // the vault's stake in A and B, summed from epoch 3 to the end
        uint256 honestHeldEnd;
        uint256 gain; // the vault's gross assets gained
        uint256 mostInAttacker; // the vault's largest stake in the attacker's pools
        uint256 selfPaid;
        int256 attackerNet; // commission and rewards of the attacker's pools − what its fees cost
    }

    uint256 internal poolX2;

    function setUp() public override {
        super.setUp();
        poolX2 = createPool(ATTACKER, ATTACKER_COMMISSION);
        addWorker(poolX2, ATTACKER, WORKER_X2);
        uint256[] memory ids = new uint256[](4);
        (ids[0], ids[1], ids[2], ids[3]) = (poolA, poolB, poolX, poolX2);
        vm.prank(CURATOR);
        allocator.setCandidates(ids);
    }

    /// The review's attack (its test, unchanged in what it does): X pays itself 60 PHA an epoch and
    /// is at 0 stake at its own snapshot every third epoch. X has no room, so it neither takes weight
    /// nor sets the reference: the honest pools keep exactly the allocation they have without it.
    function test_attack_V1_zeroSnapshotOutlier_honestPoolsKeepTheirAllocation() public {
        (Run memory base, Run memory atk) = _compare(Attack.ZeroSnapshot);
        uint256 cost = atk.selfPaid * COST_PER_PHA_PAID / 1 ether;
        emit Measured("attacker's cost: protocol cut and relay gas (wei)", cost);
        assertEq(atk.mostInAttacker, 0, "the vault never enters X");
        assertGe(atk.honestHeldEnd + 1 ether, base.honestHeldEnd, "the honest pools keep their stake (was 17,500 -> 837)");
        assertGe(atk.honestHeld + 1 ether, base.honestHeld, "throughout the run");
        assertGe(atk.gain + 0.01 ether, base.gain, "the depositors earn what they earn without the attack");
    }

    /// A room just above the drift: X keeps 1,000 PHA (limit 500, drift 300) and pays itself 60 PHA
    /// an epoch. On the review's suggested rule (best score over the pools the vault can enter) X
    /// would be the best score alone, ~14 × the honest ones. Here it counts for 500 of the 10,500 PHA
    /// the vault can place: the reference rises ~1.6 ×, and the vault, holding 500 PHA in X, takes a
    /// third of every self-paid fee: far more than the honest pools' cut costs it.
    function test_attack_V1_smallRoomOutlier_paysTheVaultMoreThanItCosts() public {
        (Run memory base, Run memory atk) = _compare(Attack.SmallRoom);
        assertTrue(atk.mostInAttacker > 0, "the vault enters X for its room");
        assertLe(atk.mostInAttacker, CHUNK / 2 + 1 ether, "and no further");
        assertGe(atk.honestHeldEnd * 4, base.honestHeldEnd * 3, "the honest pools keep >= 75 % of their stake");
        assertTrue(atk.gain > base.gain, "the depositors earn more than without the attack");
        assertTrue(atk.attackerNet < base.attackerNet, "the attacker loses by it");
    }

    /// Many pools: X and X2, each with a 500 PHA room, pay 30 PHA an epoch each. The reference is
    /// additive in room × score, so two pools move it as one with their rooms added would; the vault
    /// holds stake in both and is paid by both.
    function test_attack_V1_twoSmallPools_payTheVaultMoreThanTheyCost() public {
        (Run memory base, Run memory atk) = _compare(Attack.TwoSmallPools);
        assertTrue(atk.mostInAttacker > 0, "the vault enters the attacker's pools");
        assertGe(atk.honestHeldEnd * 4, base.honestHeldEnd * 3, "the honest pools keep >= 75 % of their stake");
        assertTrue(atk.gain > base.gain, "the depositors earn more than without the attack");
        assertTrue(atk.attackerNet < base.attackerNet, "the attacker loses by it");
    }

    /// A score high only around one rebalance: X pays 180 PHA in epoch 5 (60 PHA a day over the
    /// 3-epoch window), then nothing. The vault enters X after the payment (it shares none of it), so
    /// the attacker's cost is only the protocol's cut; the honest pools' caps dip for the window.
    /// The depositors lose less than the attacker spends.
    function test_attack_V1_burstAroundOneRebalance_costsTheAttackerMoreThanTheVault() public {
        (Run memory base, Run memory atk) = _compare(Attack.Burst);
        uint256 cost = atk.selfPaid * COST_PER_PHA_PAID / 1 ether;
        emit Measured("attacker's cost: protocol cut and relay gas (wei)", cost);
        uint256 loss = base.gain > atk.gain ? base.gain - atk.gain : 0;
        emit Measured("depositors' loss (wei)", loss);
        assertGe(atk.honestHeldEnd * 10, base.honestHeldEnd * 9, "the honest pools keep >= 90 % of their stake");
        assertLe(loss, cost, "the depositors lose less than the attack costs");
    }

    // ---------------------------------------------------------------- helpers

    function _compare(Attack attack) internal returns (Run memory base, Run memory atk) {
        uint256 start = vm.snapshotState();
        base = _run(attack, false);
        vm.revertToState(start);
        atk = _run(attack, true);
        emit Measured("vault stake in A+B at the end, no attack (wei)", base.honestHeldEnd);
        emit Measured("vault stake in A+B at the end, attacked (wei)", atk.honestHeldEnd);
        emit Measured("vault stake in A+B summed from epoch 3, no attack (wei)", base.honestHeld);
        emit Measured("vault stake in A+B summed from epoch 3, attacked (wei)", atk.honestHeld);
        emit Measured("vault's gain over the run, no attack (wei)", base.gain);
        emit Measured("vault's gain over the run, attacked (wei)", atk.gain);
        emit Measured("vault's largest stake in the attacker's pools (wei)", atk.mostInAttacker);
        emit Measured("attacker's self-paid fees (wei)", atk.selfPaid);
        emit MeasuredSigned("attacker's net, no attack (wei)", base.attackerNet);
        emit MeasuredSigned("attacker's net, attacked (wei)", atk.attackerNet);
    }

    function _run(Attack attack, bool attacking) internal returns (Run memory r) {
        uint256 epochs = attack == Attack.Burst ? BURST_EPOCHS : EPOCHS;
        if (attack == Attack.SmallRoom || attack == Attack.Burst) {
            stakeAs(ATTACKER, poolX, CHUNK);
        } else if (attack == Attack.TwoSmallPools) {
            stakeAs(ATTACKER, poolX, CHUNK);
            stakeAs(ATTACKER, poolX2, CHUNK);
        }
        uint256 gross0 = vault.grossAssets();
        uint256[] memory x = new uint256[](1);
        x[0] = poolX;
        for (uint256 e; e < epochs; ++e) {
            if (attack == Attack.ZeroSnapshot && attacking && e % 3 == 0) {
                uint256 shares = hub.sharesOf(poolX, ATTACKER);
                if (shares != 0) {
                    vm.prank(ATTACKER);
                    hub.requestWithdrawal(poolX, shares);
                }
                performance.record(x); // X's snapshot of this epoch, taken at 0 stake
                stakeAs(ATTACKER, poolX, CHUNK);
            }
            _honestTraffic();
            if (attacking) r.selfPaid += _selfPay(attack, e);
            allocator.rebalance();
            if (e >= 3) r.honestHeld += _held(poolA) + _held(poolB);
            r.mostInAttacker = _max(r.mostInAttacker, _held(poolX) + _held(poolX2));
            vm.warp(block.timestamp + 1 days);
        }
        r.honestHeldEnd = _held(poolA) + _held(poolB);
        r.gain = vault.grossAssets() - gross0;
        hub.harvestPool(poolX);
        hub.harvestPool(poolX2);
        uint256 earned = hub.poolState(poolX).commissionAccrued + hub.pendingRewards(poolX, ATTACKER)
            + hub.poolState(poolX2).commissionAccrued + hub.pendingRewards(poolX2, ATTACKER);
        r.attackerNet = int256(earned) - int256(r.selfPaid + r.selfPaid * COST_PER_PHA_PAID / 1 ether);
    }

    function _selfPay(Attack attack, uint256 epoch) internal returns (uint256) {
        if (attack == Attack.ZeroSnapshot || attack == Attack.SmallRoom) {
            creditFees(WORKER_X, SELF_PAID);
            return SELF_PAID;
        }
        if (attack == Attack.TwoSmallPools) {
            creditFees(WORKER_X, SELF_PAID / 2);
            creditFees(WORKER_X2, SELF_PAID / 2);
            return SELF_PAID;
        }
        if (attack == Attack.Burst && epoch == 5) {
            creditFees(WORKER_X, 3 * SELF_PAID);
            return 3 * SELF_PAID;
        }
        return 0;
    }
}
