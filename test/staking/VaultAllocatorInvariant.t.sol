// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {PhalaToken} from "../../contracts/token/PhalaToken.sol";
import {StakingHub} from "../../contracts/staking/StakingHub.sol";
import {StakingVault} from "../../contracts/staking/StakingVault.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {PoolPerformance, IStakingHubPools} from "../../contracts/staking/PoolPerformance.sol";
import {VaultAllocator, IManagedVault, IAllocatorHub} from "../../contracts/staking/VaultAllocator.sol";
import {MockRouter} from "./mocks/MockRouter.sol";
import {MockWorkerRegistry} from "./mocks/MockWorkerRegistry.sol";
import {StakingInvariantBase} from "./StakingInvariantBase.sol";

/// @notice Depositors, redeemers, keepers, a curator changing candidates and parameters, pools whose
/// fees change, pools slashed and pools that fail for good, and rebalances at random epochs. After
/// every rebalance the handler checks what the rule promised for that rebalance; the invariants
/// read the results.
contract AllocatorHandler is Test {
    uint256 internal constant ACTORS = 6;
    uint256 internal constant POOLS = 6;
    uint256 internal constant BPS = 10_000;
    /// @dev The curator's minimum stay ranges over [1, MAX_STAY] here.
    uint16 internal constant MAX_STAY = 3;
    address internal constant CURATOR = address(0xC0);

    PhalaToken internal immutable pha;
    StakingHub internal immutable hub;
    MockRouter internal immutable router;
    StakingVault internal immutable vault;
    PoolPerformance internal immutable performance;
    VaultAllocator internal immutable allocator;

    address[] public actors;
    uint256[] public poolIds;
    address[] public workerOf;

    /// @dev Pools that stopped earning for good and are slashed 1% every epoch from then on.
    mapping(uint256 poolId => bool) public failing;
    /// @dev Rebalances run since the pool failed (counted from the first after its failure).
    mapping(uint256 poolId => uint256) public rebalancesSinceFailure;
    /// @dev Whether the pool was a candidate at every rebalance since it failed.
    mapping(uint256 poolId => bool) public candidateSinceFailure;

    uint256 public rebalances;
    uint256 public rebalanceReverts;
    bytes public lastRevert;
    /// @dev Rebalances after which a pool given stake held more than the cap of the total.
    uint256 public capBreaches;
    /// @dev Rebalances after which the candidates held more than the investable total.
    uint256 public overAllocations;
    /// @dev Rebalances that spent PHA owed to queued redemptions.
    uint256 public queueSpent;
    /// @dev Rebalances or reduceToLimit calls after which the vault held more in a pool than the
    /// pool's limit (VaultAllocator.limitOf) plus its tolerance.
    uint256 public limitBreaches;
    /// @dev Successful reduceToLimit calls.
    uint256 public reductions;
    /// @dev Failing pools still holding vault stake past the documented number of rebalances.
    uint256 public lateUnbonds;

    constructor(
        PhalaToken pha_,
        StakingHub hub_,
        MockRouter router_,
        MockWorkerRegistry registry,
        StakingVault vault_,
        PoolPerformance performance_,
        VaultAllocator allocator_
    ) {
        pha = pha_;
        hub = hub_;
        router = router_;
        vault = vault_;
        performance = performance_;
        allocator = allocator_;
        pha.approve(address(router), type(uint256).max);
        pha.approve(address(hub), type(uint256).max);
        for (uint256 i; i < ACTORS; ++i) {
            address actor = address(uint160(0xA000 + i));
            actors.push(actor);
            vm.prank(actor);
            pha.approve(address(vault), type(uint256).max);
        }
        for (uint256 i; i < POOLS; ++i) {
            address operator = address(uint160(0x0F00 + i));
            address worker = address(uint160(0x1000 + i));
            vm.prank(operator);
            uint256 id = hub.createPool(uint16(500 * i));
            registry.setOperator(worker, operator);
            vm.prank(operator);
            hub.addWorker(id, worker);
            poolIds.push(id);
            workerOf.push(worker);
        }
    }

    /// @dev Other stakers in every pool, once the handler holds PHA (a no-op afterwards).
    function start() external {
        if (hub.poolState(poolIds[0]).activeStake != 0) return;
        for (uint256 i; i < POOLS; ++i) {
            hub.stake(poolIds[i], 2_000 ether);
        }
    }

    // ---------------------------------------------------------------- depositors and keepers

    function deposit(uint256 actorSeed, uint256 assets) external {
        address actor = actors[actorSeed % ACTORS];
        assets = bound(assets, 1 ether, 50_000 ether);
        pha.transfer(actor, assets);
        vm.prank(actor);
        vault.deposit(assets, actor);
    }

    function requestRedeem(uint256 actorSeed, uint256 fraction) external {
        address actor = actors[actorSeed % ACTORS];
        uint256 shares = vault.balanceOf(actor) * bound(fraction, 1, 100) / 100;
        if (vault.previewRedeem(shares) == 0) return;
        vm.prank(actor);
        vault.requestRedeem(shares, actor);
    }

    function processQueue(uint256 count) external {
        vault.processRedeemQueue(bound(count, 1, 5));
    }

    function completeWithdrawals() external {
        uint256[] memory pending = vault.pendingWithdrawals();
        uint256[] memory unlocked = new uint256[](pending.length);
        uint256 n;
        for (uint256 i; i < pending.length; ++i) {
            if (hub.withdrawalRequest(pending[i]).unlockAt <= block.timestamp) unlocked[n++] = pending[i];
        }
        assembly ("memory-safe") {
            mstore(unlocked, n)
        }
        vault.completePoolWithdrawals(unlocked);
    }

    function claimRewards() external {
        vault.claimPoolRewards();
    }

    // ---------------------------------------------------------------- pools

    function earnFees(uint256 poolSeed, uint256 fee) external {
        uint256 i = poolSeed % POOLS;
        if (failing[poolIds[i]]) return;
        router.creditFees(workerOf[i], bound(fee, 0, 100 ether));
    }

    function slash(uint256 poolSeed, uint256 bps) external {
        uint256 i = poolSeed % POOLS;
        IStakingHub.Pool memory pool = hub.poolState(poolIds[i]);
        uint256 amount = (pool.activeStake + pool.unbondingStake) * bound(bps, 1, 500) / BPS;
        if (amount != 0) router.slashForTimeout(workerOf[i], 1, amount, address(0xE0), 0);
    }

    /// A pool stops earning for good; from now on it is slashed 1% every epoch.
    function fail(uint256 poolSeed) external {
        uint256 id = poolIds[poolSeed % POOLS];
        if (failing[id]) return;
        failing[id] = true;
        candidateSinceFailure[id] = true;
    }

    /// One to three epochs pass; every failing pool is slashed 1% in each.
    function nextEpochs(uint256 count) external {
        count = bound(count, 1, 3);
        for (uint256 e; e < count; ++e) {
            _nextEpoch();
        }
    }

    function _nextEpoch() private {
        vm.warp(block.timestamp + 1 days);
        for (uint256 i; i < POOLS; ++i) {
            if (!failing[poolIds[i]]) continue;
            IStakingHub.Pool memory pool = hub.poolState(poolIds[i]);
            uint256 amount = (pool.activeStake + pool.unbondingStake) / 100;
            if (amount != 0) router.slashForTimeout(workerOf[i], 1, amount, address(0xE0), 0);
        }
    }

    /// The rest of a pool (the handler: its operator and delegators) unbonds part of its stake, or
    /// stakes more; then anyone brings the vault down to the new limit.
    function moveOwnStake(uint256 poolSeed, uint256 fraction, bool add) external {
        uint256 id = poolIds[poolSeed % POOLS];
        if (add) {
            hub.stake(id, bound(fraction, 1, 5_000) * 1 ether);
        } else {
            uint256 shares = hub.sharesOf(id, address(this)) * bound(fraction, 1, 100) / 100;
            if (shares == 0) return;
            try hub.requestWithdrawal(id, shares) {} catch {}
        }
        reduceToLimit(poolSeed);
    }

    /// Anyone's trigger: it moves stake only when the vault is above the limit, and leaves it there.
    function reduceToLimit(uint256 poolSeed) public {
        uint256 id = poolIds[poolSeed % POOLS];
        try allocator.reduceToLimit(id) {
            ++reductions;
        } catch {}
        _checkLimit(id);
    }

    // ---------------------------------------------------------------- curator

    function setCandidates(uint256 mask) external {
        uint256 count;
        uint256[] memory ids = new uint256[](POOLS);
        for (uint256 i; i < POOLS; ++i) {
            if ((mask >> i) & 1 != 0) ids[count++] = poolIds[i];
        }
        assembly ("memory-safe") {
            mstore(ids, count)
        }
        vm.prank(CURATOR);
        allocator.setCandidates(ids);
        for (uint256 i; i < POOLS; ++i) {
            if ((mask >> i) & 1 == 0) candidateSinceFailure[poolIds[i]] = false;
        }
    }

    function setParams(uint256 cap, uint256 window, uint256 stay, uint256 drift) external {
        VaultAllocator.Bounds memory b = allocator.bounds();
        VaultAllocator.Params memory p = VaultAllocator.Params({
            maxPoolShareBps: uint16(bound(cap, 1, b.maxPoolShareBps)),
            window: uint16(bound(window, b.minWindow, b.maxWindow)),
            minStay: uint16(bound(stay, b.minStay, MAX_STAY)),
            driftBps: uint16(bound(drift, 0, b.maxDriftBps))
        });
        vm.prank(CURATOR);
        allocator.setParams(p);
    }

    // ---------------------------------------------------------------- the rule

    /// @dev Moves on to the next epoch first if this one was rebalanced: every call rebalances.
    function rebalance() external {
        if (allocator.lastRebalanceEpoch() == performance.currentEpoch()) _nextEpoch();
        uint256[] memory ids = allocator.candidates();
        VaultAllocator.Params memory p = allocator.params();
        uint256 liquidity = vault.availableLiquidity();
        uint256 total = liquidity;
        uint256[] memory before = new uint256[](ids.length);
        for (uint256 i; i < ids.length; ++i) {
            before[i] = hub.stakeOf(ids[i], address(vault));
            total += before[i];
        }
        uint256 owedBefore = vault.queuedAssets();
        bool covered = vault.idleAssets() >= owedBefore;

        try allocator.rebalance() {}
        catch (bytes memory reason) {
            ++rebalanceReverts;
            lastRevert = reason;
            return;
        }
        ++rebalances;

        uint256 held;
        for (uint256 i; i < ids.length; ++i) {
            uint256 stake_ = hub.stakeOf(ids[i], address(vault));
            held += stake_;
            // A pool given stake ends within the cap of the investable total (rounding: a wei).
            if (stake_ > before[i] && stake_ > total * p.maxPoolShareBps / BPS + 1) ++capBreaches;
        }
        _checkLimits();
        if (held > total + ids.length) ++overAllocations;
        if (covered && vault.idleAssets() < vault.queuedAssets()) ++queueSpent;

        for (uint256 i; i < POOLS; ++i) {
            uint256 id = poolIds[i];
            if (!failing[id]) continue;
            uint256 since = ++rebalancesSinceFailure[id];
            if (!_contains(ids, id)) candidateSinceFailure[id] = false;
            if (hub.stakeOf(id, address(vault)) != 0 && since > failingLimit(id)) ++lateUnbonds;
        }
    }

    /// @dev Counts the pools the vault holds above their limit.
    function _checkLimits() private {
        uint256[] memory held = vault.pools();
        for (uint256 i; i < held.length; ++i) {
            _checkLimit(held[i]);
        }
    }

    /// @dev Above the rule's limit, or above the rest of the pool's active stake now (the limit's
    /// meaning, checked without the rule's own arithmetic).
    function _checkLimit(uint256 poolId) private {
        uint256 held = hub.stakeOf(poolId, address(vault));
        uint256 active = hub.poolState(poolId).activeStake;
        uint256 tolerance = allocator.LIMIT_TOLERANCE();
        if (held > allocator.limitOf(poolId) + tolerance || held > active - held + tolerance) ++limitBreaches;
    }

    /// @notice Rebalances within which a failing pool leaves the vault (ARCHITECTURE, "Vault
    /// allocation by performance"): window + 1 while it stays a candidate (its return turns negative
    /// once its window holds only slashes); a pool the curator dropped, after its minimum stay too.
    function failingLimit(uint256 poolId) public view returns (uint256) {
        VaultAllocator.Bounds memory b = allocator.bounds();
        return candidateSinceFailure[poolId] ? uint256(b.maxWindow) + 1 : uint256(b.maxWindow) + 1 + MAX_STAY;
    }

    function poolCount() external pure returns (uint256) {
        return POOLS;
    }

    function _contains(uint256[] memory list, uint256 value) private pure returns (bool) {
        for (uint256 i; i < list.length; ++i) {
            if (list[i] == value) return true;
        }
        return false;
    }
}

contract VaultAllocatorInvariantTest is StakingInvariantBase {
    StakingVault internal vault;
    PoolPerformance internal performance;
    VaultAllocator internal allocator;
    AllocatorHandler internal handler;

    function setUp() public {
        deployHub(7 days, 2 days, address(this));
        vault = new StakingVault(pha, IStakingHub(address(hub)), address(this), address(this));
        performance = new PoolPerformance(IStakingHubPools(address(hub)));
        allocator = new VaultAllocator(
            IManagedVault(address(vault)),
            IAllocatorHub(address(hub)),
            performance,
            VaultAllocator.Bounds({maxPoolShareBps: 5_000, minWindow: 2, maxWindow: 3, minStay: 1, maxDriftBps: 500}),
            VaultAllocator.Params({maxPoolShareBps: 4_000, window: 3, minStay: 2, driftBps: 100}),
            address(0xC0),
            address(this)
        );
        vault.setManager(address(allocator));
        handler = new AllocatorHandler(pha, hub, router, registry, vault, performance, allocator);
        useHandler(address(handler));
        handler.start();
        uint256[] memory ids = new uint256[](4);
        for (uint256 i; i < 4; ++i) ids[i] = handler.poolIds(i);
        vm.prank(address(0xC0));
        allocator.setCandidates(ids);
    }

    /// A rebalance never reverts in a reachable state (it would also stop failing pools' unbonding).
    function invariant_RebalanceNeverReverts() public view {
        assertEq(handler.rebalanceReverts(), 0, string(handler.lastRevert()));
    }

    /// No rebalance takes a pool above the cap of the investable total.
    function invariant_NoPoolGivenMoreThanTheCap() public view {
        assertEq(handler.capBreaches(), 0, "pool above the cap");
    }

    /// After any rebalance and any stake move of a pool's other stakers followed by anyone's
    /// reduceToLimit, the vault holds at most the pool's limit in every pool: the rest's stake now
    /// and half the pool's stake kept through the window (review s25, E1; s23, F3).
    function invariant_VaultWithinEveryPoolsLimit() public view {
        assertEq(handler.limitBreaches(), 0, "vault above a pool's limit");
    }

    /// The candidates never hold more than the vault's investable total, and allocation never spends
    /// PHA owed to queued redemptions.
    function invariant_AllocatedWithinTheVaultsAssets() public view {
        assertEq(handler.overAllocations(), 0, "allocated more than the vault has");
        assertEq(handler.queueSpent(), 0, "spent PHA owed to the queue");
        uint256[] memory held = vault.pools();
        uint256 staked;
        for (uint256 i; i < held.length; ++i) {
            staked += hub.stakeOf(held[i], address(vault));
        }
        assertLe(staked + vault.unbondingAssets(), vault.grossAssets(), "positions within the vault's assets");
    }

    /// Never more than MAX_POOLS positions, nor MAX_CANDIDATES candidates.
    function invariant_AtMostMaxPools() public view {
        assertLe(vault.pools().length, vault.MAX_POOLS(), "positions");
        assertLe(allocator.candidates().length, allocator.MAX_CANDIDATES(), "candidates");
    }

    /// Target weights: each within the cap, together at most everything.
    function invariant_WeightsCapped() public view {
        uint256[] memory w = allocator.targetWeights();
        uint256 cap = allocator.params().maxPoolShareBps;
        uint256 sum;
        for (uint256 i; i < w.length; ++i) {
            assertLe(w[i], cap, "weight above the cap");
            sum += w[i];
        }
        assertLe(sum, 10_000, "weights above 100%");
    }

    /// A failing pool is unbonded within the documented number of rebalances.
    function invariant_FailingPoolUnbondedInTime() public view {
        assertEq(handler.lateUnbonds(), 0, "failing pool kept too long");
    }
}
