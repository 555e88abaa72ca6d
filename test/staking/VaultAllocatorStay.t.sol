// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AllocatorFixture} from "./AllocatorFixture.sol";
import {IVaultAllocator} from "../../contracts/staking/IVaultAllocator.sol";

/// @notice Review s25, E1 (MEDIUM-HIGH, griefing ~63:1): the rule limited only the vault's ENTRY to
/// the stake a pool kept through the window; afterwards `2 × held` let the vault double every
/// rebalance up to its cap. An operator kept 6,000 PHA through the window, paid itself fees to
/// out-score the honest pools, let the vault in, unbonded all but 1 PHA, and the vault still went
/// to its cap (6,000 → 11,409 PHA) behind 1 PHA; one equivocation of its own worker burnt 2,208 PHA
/// of depositors' stake for ~35 PHA of fees.
/// The rule now (VaultAllocator.limitOf): the limit holds for the whole stay — the vault holds at
/// most the rest of the pool's active stake now and half the pool's stake kept through the window;
/// every rebalance and anyone's reduceToLimit bring it down at once when the rest falls.
contract VaultAllocatorStayTest is AllocatorFixture {
    uint256 internal constant OWN = 6_000 ether; // kept through the window
    uint256 internal constant KEEP = 1 ether;
    uint256 internal constant SELF_PAID = 5 ether; // per epoch
    uint256 internal constant SELF_PAID_COST = 5.253 ether; // its protocol cut and relay gas (ScoreStakeMoves)
    uint256 internal constant EPOCHS = 12;
    address internal constant KEEPER = address(0x4EE9);

    /// The review's attack. Only rebalances run (no keeper): the first one after the operator's
    /// unbonding brings the vault down to the operator's 1 PHA, whatever its minimum stay, and no
    /// later one adds above it.
    function test_attack_E1_operatorUnbondsAfterEntry_vaultFollowsItDown() public {
        (uint256 entered, uint256 requestId, uint256 spent, uint256 most) = _attack(false);
        emit Measured("vault stake at entry (wei)", entered);
        emit Measured("largest vault stake in X after the operator left, rebalances only (wei)", most);
        assertTrue(entered > 0, "the vault entered");
        assertLe(entered, OWN / 2, "with at most half the stake kept through the window");
        assertLe(most, KEEP + allocator.LIMIT_TOLERANCE(), "and follows the operator down to its 1 PHA");
        _equivocate(requestId, spent, entered);
    }

    /// The same with a keeper: anyone brings the vault down in the operator's own block.
    function test_attack_E1_anyoneReducesAtOnce() public {
        (uint256 entered, uint256 requestId, uint256 spent, uint256 most) = _attack(true);
        emit Measured("largest vault stake in X after the operator left, with a keeper (wei)", most);
        assertLe(most, KEEP + allocator.LIMIT_TOLERANCE(), "the vault follows the operator down");
        _equivocate(requestId, spent, entered);
    }

    /// @return entered The vault's stake in X when it entered; requestId the operator's unbonding;
    /// spent what its self-paid fees cost; most the largest vault stake in X after the operator left.
    function _attack(bool keeper) internal returns (uint256 entered, uint256 requestId, uint256 spent, uint256 most) {
        stakeAs(ATTACKER, poolX, OWN);
        bool left;
        for (uint256 e; e < EPOCHS; ++e) {
            _honestTraffic();
            creditFees(WORKER_X, SELF_PAID);
            spent += SELF_PAID_COST;
            allocator.rebalance();
            uint256 held = _held(poolX);
            if (left) most = _max(most, held);
            assertLe(held, allocator.limitOf(poolX) + allocator.LIMIT_TOLERANCE(), "never above the limit");
            if (held != 0 && !left) {
                // The vault is in: the operator takes its skin out (all but 1 PHA).
                entered = held;
                uint256 shares = hub.sharesOf(poolX, ATTACKER) - hub.sharesForStake(poolX, KEEP);
                vm.prank(ATTACKER);
                requestId = hub.requestWithdrawal(poolX, shares);
                left = true;
                if (keeper) {
                    vm.prank(KEEPER);
                    allocator.reduceToLimit(poolX);
                    most = _held(poolX);
                }
            }
            vm.warp(block.timestamp + 1 days);
        }
        assertTrue(left, "the vault entered");
    }

    /// The operator collects its unbonding, then equivocates. Depositors lose 20 % of what the vault
    /// still has in X: its active stake (≤ the operator's 1 PHA) once its own unbonding was
    /// collected; at worst (the operator equivocates in the block its unbonding unlocks, before
    /// anyone collects the vault's) also the vault's unbonding, i.e. 20 % of the stake the vault
    /// held when the operator left, which the limit kept at half what the pool kept through the window.
    function _equivocate(uint256 requestId, uint256 spent, uint256 entered) internal {
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(ATTACKER);
        hub.withdraw(requestId);
        hub.harvestPool(poolX);
        uint256 back = hub.poolState(poolX).commissionAccrued + hub.pendingRewards(poolX, ATTACKER);
        uint256 netCost = spent > back ? spent - back : 0;
        emit Measured("attacker's net cost in fees (wei)", netCost);

        // Gross assets: a loss first eats gains still unlocking, which are the depositors' too.
        uint256 start = vm.snapshotState();
        uint256 before = vault.grossAssets();
        router.slashForEquivocation(WORKER_X, 1, ATTACKER, 0);
        uint256 worst = before - vault.grossAssets();
        vm.revertToState(start);
        vault.completePoolWithdrawals(vault.pendingWithdrawals());
        before = vault.grossAssets();
        router.slashForEquivocation(WORKER_X, 1, ATTACKER, 0);
        uint256 collected = before - vault.grossAssets();

        emit Measured("depositors' PHA burnt, the vault's unbonding collected (wei)", collected);
        emit Measured("depositors' PHA burnt, worst case: equivocation before the collection (wei)", worst);
        emit Measured("worst case: depositors' loss per PHA of the attacker's net cost (x100)", worst * 100 / netCost);
        assertLe(collected, (KEEP + allocator.LIMIT_TOLERANCE()) * EQUIVOCATION_BPS / 10_000 + 1, "20% of the operator's 1 PHA");
        assertLe(worst, entered * EQUIVOCATION_BPS / 10_000 + 1 ether, "at worst 20% of what the limit let in");
        assertLe(worst, OWN / 2 * EQUIVOCATION_BPS / 10_000 + 1 ether, "at most 20% of half the stake kept");
    }

    /// A griefer cannot touch a pool within its limit: reduceToLimit refuses it, before and after
    /// the vault's stake there grew over many epochs of honest traffic.
    function test_reduceToLimit_refusesAPoolWithinItsLimit() public {
        for (uint256 e; e < 4 * WINDOW; ++e) {
            _honestTraffic();
            allocator.rebalance();
            vm.warp(block.timestamp + 1 days);
            uint256 held = _held(poolA);
            if (held == 0) continue;
            vm.expectRevert(
                abi.encodeWithSelector(IVaultAllocator.WithinLimit.selector, poolA, held, allocator.limitOf(poolA))
            );
            vm.prank(KEEPER);
            allocator.reduceToLimit(poolA);
        }
        assertTrue(_held(poolA) > HONEST_STAKE / 2, "the vault grew in A past the entry");
        assertLe(_held(poolA), HONEST_STAKE, "never above the rest of the pool");
    }

    /// An honest delegator leaving counts too: the vault follows the rest of the pool down, and no
    /// further (a second call is refused).
    function test_reduceToLimit_followsTheRestDownOnce() public {
        address delegator = address(0xDE1E);
        stakeAs(delegator, poolA, 5_000 ether);
        for (uint256 e; e < 6 * WINDOW; ++e) {
            _honestTraffic();
            allocator.rebalance();
            vm.warp(block.timestamp + 1 days);
        }
        uint256 held = _held(poolA);
        assertTrue(held > HONEST_STAKE, "the vault holds more than the operator's own 10,000");
        uint256 shares = hub.sharesOf(poolA, delegator);
        vm.prank(delegator);
        hub.requestWithdrawal(poolA, shares);
        vm.prank(KEEPER);
        uint256 unbonded = allocator.reduceToLimit(poolA);
        assertApproxEq(unbonded, held - HONEST_STAKE, 2, "down to the rest's 10,000");
        assertApproxEq(_held(poolA), HONEST_STAKE, 1, "held = the rest");
        vm.expectRevert();
        allocator.reduceToLimit(poolA);
    }

    /// Stake brought in just before the rebalance counts for nothing: after the vault followed the
    /// operator down, re-staking 12,000 PHA a block before the next rebalance does not bring it back
    /// above half what the pool kept through the window.
    function test_stakeBeforeTheRebalance_doesNotRaiseTheLimit() public {
        _attack(true);
        stakeAs(ATTACKER, poolX, 12_000 ether);
        _honestTraffic();
        creditFees(WORKER_X, SELF_PAID);
        vm.warp(block.timestamp + 12);
        allocator.rebalance();
        // Through the window X held the operator's 1 PHA and the vault's ≤ 2 PHA.
        assertLe(_held(poolX), 2 ether, "the fresh stake raises nothing");
    }
}
