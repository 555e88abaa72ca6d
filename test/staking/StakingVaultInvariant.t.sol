// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {PhalaToken} from "../../contracts/token/PhalaToken.sol";
import {StakingHub} from "../../contracts/staking/StakingHub.sol";
import {StakingVault} from "../../contracts/staking/StakingVault.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {MockRouter} from "./mocks/MockRouter.sol";
import {MockWorkerRegistry} from "./mocks/MockWorkerRegistry.sol";
import {StakingInvariantBase} from "./StakingInvariantBase.sol";

/// @notice Random depositors, a random manager, keepers, fees and slashes acting on one vault.
contract VaultHandler is Test {
    uint256 internal constant ACTORS = 8;
    address internal constant MANAGER = address(0x3A4);

    PhalaToken internal immutable pha;
    StakingHub internal immutable hub;
    StakingVault internal immutable vault;
    MockRouter internal immutable router;
    address[] public actors;
    uint256[2] public poolIds;
    address[2] public workers;

    mapping(address actor => uint256) public deposited;
    mapping(address actor => uint256) public received;
    /// @dev Rewards credited to the vault's pool positions: the only way value enters besides deposits.
    uint256 public vaultRewards;
    /// @dev Instant redemptions that went through (must stay zero: exits are queued).
    uint256 public instantExits;

    constructor(PhalaToken pha_, StakingHub hub_, StakingVault vault_, MockRouter router_, MockWorkerRegistry registry)
    {
        pha = pha_;
        hub = hub_;
        vault = vault_;
        router = router_;
        pha.approve(address(router), type(uint256).max);
        for (uint256 i; i < ACTORS; ++i) {
            address actor = address(uint160(0xA000 + i));
            actors.push(actor);
            vm.prank(actor);
            pha.approve(address(vault), type(uint256).max);
        }
        for (uint256 i; i < 2; ++i) {
            address operator = address(uint160(0x0F00 + i));
            address worker = address(uint160(0x1000 + i));
            vm.prank(operator);
            poolIds[i] = hub.createPool(uint16(500 * i));
            registry.setOperator(worker, operator);
            vm.prank(operator);
            hub.addWorker(poolIds[i], worker);
            workers[i] = worker;
        }
    }

    function deposit(uint256 actorSeed, uint256 assets) external {
        address actor = actors[actorSeed % ACTORS];
        assets = bound(assets, 1, 50_000 ether);
        pha.transfer(actor, assets);
        vm.prank(actor);
        vault.deposit(assets, actor);
        deposited[actor] += assets;
    }

    function mint(uint256 actorSeed, uint256 shares) external {
        address actor = actors[actorSeed % ACTORS];
        shares = bound(shares, 1, 50_000 ether * 1e6);
        uint256 assets = vault.previewMint(shares);
        pha.transfer(actor, assets);
        vm.prank(actor);
        vault.mint(shares, actor);
        deposited[actor] += assets;
    }

    /// Instant exits are disabled: whatever the fraction, they move nothing.
    function redeem(uint256 actorSeed, uint256 shares) external {
        address actor = actors[actorSeed % ACTORS];
        shares = bound(shares, 1, 1e30);
        vm.prank(actor);
        try vault.redeem(shares, actor, actor) {
            instantExits += 1;
        } catch {}
    }

    function requestRedeem(uint256 actorSeed, uint256 fraction) external {
        address actor = actors[actorSeed % ACTORS];
        uint256 shares = vault.balanceOf(actor) * bound(fraction, 1, 100) / 100;
        if (vault.previewRedeem(shares) == 0) return;
        vm.prank(actor);
        vault.requestRedeem(shares, actor);
    }

    function processQueue(uint256 count) external {
        uint256 head = vault.queueHead();
        uint256 last = vault.redeemRequestCount();
        uint256 steps = bound(count, 1, 5);
        // Attribute payouts to owners for the ghost ledger.
        uint256[] memory owed = new uint256[](ACTORS);
        for (uint256 id = head + 1; id <= last && id <= head + steps; ++id) {
            StakingVault.RedeemRequest memory request = vault.redeemRequest(id);
            if (request.shares != 0) owed[uint160(request.owner) - 0xA000] = 1;
        }
        uint256[] memory balancesBefore = new uint256[](ACTORS);
        for (uint256 i; i < ACTORS; ++i) balancesBefore[i] = pha.balanceOf(actors[i]);
        vault.processRedeemQueue(steps);
        for (uint256 i; i < ACTORS; ++i) {
            if (owed[i] != 0) received[actors[i]] += pha.balanceOf(actors[i]) - balancesBefore[i];
        }
    }

    function allocate(uint256 poolSeed, uint256 fraction) external {
        uint256 amount = vault.availableLiquidity() * bound(fraction, 1, 100) / 100;
        if (amount == 0) return;
        vm.prank(MANAGER);
        vault.allocate(poolIds[poolSeed % 2], amount);
    }

    function unbond(uint256 poolSeed, uint256 fraction) external {
        uint256 id = poolIds[poolSeed % 2];
        uint256 shares = hub.sharesOf(id, address(vault)) * bound(fraction, 1, 100) / 100;
        if (shares == 0) return;
        vm.prank(MANAGER);
        vault.requestPoolWithdrawal(id, shares);
    }

    function forceUnbond(uint256 poolSeed) external {
        vault.forceUnbond(poolIds[poolSeed % 2]);
    }

    function complete() external {
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

    function checkpoint() external {
        vault.checkpoint();
    }

    /// Someone sends PHA straight to the vault: a gain like any other, streamed.
    function donate(uint256 amount) external {
        amount = bound(amount, 1, 10_000 ether);
        pha.transfer(address(vault), amount);
        vaultRewards += amount;
    }

    function claimRewards() external {
        vault.claimPoolRewards();
    }

    function earnFees(uint256 poolSeed, uint256 fee) external {
        address worker = workers[poolSeed % 2];
        uint256 id = poolIds[poolSeed % 2];
        router.creditFees(worker, bound(fee, 0, 2_000 ether));
        uint256 before = hub.pendingRewards(id, address(vault));
        hub.harvest(worker);
        vaultRewards += hub.pendingRewards(id, address(vault)) - before;
    }

    function slash(uint256 poolSeed) external {
        address worker = workers[poolSeed % 2];
        (uint256 poolId,,,) = hub.workerInfo(worker);
        IStakingHub.Pool memory pool = hub.poolState(poolId);
        uint256 amount = (pool.activeStake + pool.unbondingStake) / 20;
        router.slashForTimeout(worker, 1, amount, address(0xE0), amount / 10);
    }

    function warp(uint256 by) external {
        vm.warp(block.timestamp + bound(by, 1, 5 days));
    }

    function actorCount() external pure returns (uint256) {
        return ACTORS;
    }
}

contract StakingVaultInvariantTest is StakingInvariantBase {
    StakingVault internal vault;
    VaultHandler internal handler;

    function setUp() public {
        deployHub(7 days, 2 days, address(this));
        vault = new StakingVault(pha, IStakingHub(address(hub)), address(0x3A4), address(this));
        handler = new VaultHandler(pha, hub, vault, router, registry);
        useHandler(address(handler));
    }

    /// totalAssets plus the locked gains equals idle PHA plus the value of every hub position and
    /// unbonding request the vault owns, found by scanning the hub (independently of the vault's own
    /// bookkeeping), less at most a wei per unbonding request (valued per pool, conservatively).
    function invariant_TotalAssetsIsIdlePlusAllocatedLessLocked() public view {
        uint256 expected = pha.balanceOf(address(vault));
        for (uint256 i; i < 2; ++i) {
            expected += hub.positionValue(handler.poolIds(i), address(vault));
        }
        uint256 requests = hub.withdrawalCount();
        uint256 open;
        for (uint256 id = 1; id <= requests; ++id) {
            if (hub.withdrawalRequest(id).owner == address(vault)) {
                expected += hub.withdrawalValue(id);
                ++open;
            }
        }
        uint256 gross = vault.totalAssets() + vault.lockedProfit();
        assertEq(gross, vault.grossAssets(), "gross = total + locked");
        assertLe(gross, expected, "never counts more than the hub pays");
        assertGe(gross + open, expected, "at most a wei per request less");
    }

    /// Shares never claim more PHA than the vault is worth, and escrowed shares match the queue.
    function invariant_SharesBackedAndQueueEscrowed() public view {
        assertLe(vault.convertToAssets(vault.totalSupply()), vault.totalAssets(), "claims <= assets");
        assertEq(vault.balanceOf(address(vault)), vault.queuedShares(), "escrow");
    }

    /// Depositors together never get out (paid + still held) more than they put in plus rewards:
    /// slashes and rounding only lower it.
    function invariant_NoMoreOutThanInPlusRewards() public view {
        uint256 out = vault.convertToAssets(vault.balanceOf(address(vault)));
        uint256 deposited;
        for (uint256 i; i < handler.actorCount(); ++i) {
            address actor = handler.actors(i);
            out += handler.received(actor) + vault.convertToAssets(vault.balanceOf(actor));
            deposited += handler.deposited(actor);
        }
        assertLe(out, deposited + handler.vaultRewards(), "out <= in + rewards");
    }

    /// No exit skips the queue (and so the unbonding-period exposure to slashes).
    function invariant_NoInstantExit() public view {
        assertEq(handler.instantExits(), 0, "instant exit");
    }

    /// PHA held by the hub covers every claim on the vault's pools.
    function invariant_HubHoldsClaims() public view {
        uint256 claims;
        for (uint256 i; i < 2; ++i) {
            IStakingHub.Pool memory p = hub.poolState(handler.poolIds(i));
            claims += p.activeStake + p.unbondingStake + p.commissionAccrued
                + hub.pendingRewards(handler.poolIds(i), address(vault));
        }
        assertGe(pha.balanceOf(address(hub)), claims, "hub solvent");
    }
}
