// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {StakingFixture} from "./StakingFixture.sol";
import {StakingHub} from "../../contracts/staking/StakingHub.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {IWorkerRegistry} from "../../contracts/interfaces/IWorkerRegistry.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";

contract StakingHubTest is StakingFixture {
    address internal constant WORKER = address(0x1001);
    address internal constant WORKER2 = address(0x1002);
    address internal constant CONSUMER = address(0xC0);
    address internal constant REPORTER = address(0x8E);
    uint256 internal poolId;

    function setUp() public override {
        super.setUp();
        poolId = createPool(OPERATOR, 1_000);
        addWorker(poolId, OPERATOR, WORKER);
    }

    // ------------------------------------------------------------ constructor and governance

    function test_Constructor_RevertsOnZeroAddresses() public {
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        new StakingHub(IERC20(address(0)), IWorkerRegistry(address(registry)), TREASURY, defaultParams(), GOVERNANCE);
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        new StakingHub(pha, IWorkerRegistry(address(0)), TREASURY, defaultParams(), GOVERNANCE);
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        new StakingHub(pha, IWorkerRegistry(address(registry)), address(0), defaultParams(), GOVERNANCE);
    }

    function test_Constructor_RevertsOnInvalidParams() public {
        IStakingHub.Params memory p = defaultParams();
        p.minStakePerWorker = 0;
        vm.expectRevert(IStakingHub.InvalidParams.selector);
        new StakingHub(pha, IWorkerRegistry(address(registry)), TREASURY, p, GOVERNANCE);
    }

    function test_SetRouter_OnlyOwnerAndNonZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        hub.setRouter(address(1));
        vm.prank(GOVERNANCE);
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        hub.setRouter(address(0));
        vm.prank(GOVERNANCE);
        vm.expectEmit(address(hub));
        emit IStakingHub.RouterSet(address(0xBEEF));
        hub.setRouter(address(0xBEEF));
        assertEq(hub.router(), address(0xBEEF), "router");
    }

    function test_SetTreasury_OnlyOwnerAndNonZero() public {
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        hub.setTreasury(address(1));
        vm.prank(GOVERNANCE);
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        hub.setTreasury(address(0));
        vm.prank(GOVERNANCE);
        hub.setTreasury(address(0xFEE));
        assertEq(hub.treasury(), address(0xFEE), "treasury");
    }

    function test_SetParams_OnlyOwner() public {
        IStakingHub.Params memory p = defaultParams();
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, address(this)));
        hub.setParams(p);
    }

    function test_SetParams_StoresAndEmits() public {
        IStakingHub.Params memory p = defaultParams();
        p.unbondingPeriod = 14 days;
        vm.prank(GOVERNANCE);
        vm.expectEmit(address(hub));
        emit IStakingHub.ParamsUpdated(p);
        hub.setParams(p);
        assertEq(hub.params().unbondingPeriod, 14 days, "unbonding");
    }

    function test_SetParams_RejectsEveryOutOfBoundsField() public {
        for (uint256 field; field < 10; ++field) {
            IStakingHub.Params memory p = defaultParams();
            if (field == 0) p.minStakePerWorker = uint128(hub.WEIGHT_UNIT() - 1);
            if (field == 1) p.minStakePerWorker = uint128(hub.MAX_MIN_STAKE_PER_WORKER() + 1);
            if (field == 2) p.unbondingPeriod = uint64(hub.MIN_UNBONDING_PERIOD() - 1);
            if (field == 3) p.unbondingPeriod = uint64(hub.MAX_UNBONDING_PERIOD() + 1);
            if (field == 4) p.commissionChangeDelay = uint64(hub.MIN_COMMISSION_CHANGE_DELAY() - 1);
            if (field == 5) p.commissionChangeDelay = uint64(hub.MAX_COMMISSION_CHANGE_DELAY() + 1);
            if (field == 6) p.equivocationSlashBps = uint16(hub.MAX_EQUIVOCATION_SLASH_BPS() + 1);
            if (field == 7) (p.minCommissionBps, p.maxCommissionBps) = (2_000, 1_000);
            if (field == 8) p.maxCommissionBps = 10_001;
            if (field == 9) p.minStakePerWorker = 0;
            vm.prank(GOVERNANCE);
            vm.expectRevert(IStakingHub.InvalidParams.selector);
            hub.setParams(p);
        }
    }

    // ------------------------------------------------------------ pools and commission

    function test_CreatePool_AssignsIdsAndOperator() public {
        vm.expectEmit(address(hub));
        emit IStakingHub.PoolCreated(2, ALICE, 500);
        uint256 id = createPool(ALICE, 500);
        assertEq(id, 2, "id");
        assertEq(hub.poolCount(), 2, "count");
        assertEq(hub.poolState(id).operator, ALICE, "operator");
        assertEq(hub.commissionOf(id), 500, "commission");
    }

    function test_CreatePool_RevertsOnCommissionAboveMax() public {
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.CommissionOutOfBounds.selector, 5_001, 0, MAX_COMMISSION));
        hub.createPool(5_001);
    }

    function test_SetCommission_AppliesAfterDelay() public {
        vm.prank(OPERATOR);
        vm.expectEmit(address(hub));
        emit IStakingHub.CommissionChangeScheduled(poolId, 3_000, uint64(block.timestamp + COMMISSION_DELAY));
        hub.setCommission(poolId, 3_000);
        assertEq(hub.commissionOf(poolId), 1_000, "old until delay");
        stakeAs(ALICE, poolId, MIN_STAKE);

        creditFees(WORKER, 100 ether);
        hub.harvest(WORKER);
        assertEq(hub.poolState(poolId).commissionAccrued, 10 ether, "old rate used");

        // Fees earned before the first settlement after the delay are still charged the old rate.
        vm.warp(block.timestamp + COMMISSION_DELAY);
        assertEq(hub.commissionOf(poolId), 1_000, "raise waits for a settlement");
        creditFees(WORKER, 100 ether);
        vm.expectEmit(address(hub));
        emit IStakingHub.CommissionChangeApplied(poolId, 3_000);
        hub.harvest(WORKER);
        assertEq(hub.poolState(poolId).commissionAccrued, 20 ether, "old rate on fees earned before");
        assertEq(hub.commissionOf(poolId), 3_000, "new rate from the settlement on");
        creditFees(WORKER, 100 ether);
        hub.harvest(WORKER);
        assertEq(hub.poolState(poolId).commissionAccrued, 50 ether, "new rate used");
    }

    function test_SetCommission_RescheduleKeepsDueChange() public {
        vm.prank(OPERATOR);
        hub.setCommission(poolId, 2_000);
        vm.warp(block.timestamp + COMMISSION_DELAY);
        vm.prank(OPERATOR);
        hub.setCommission(poolId, 4_000);
        assertEq(hub.poolState(poolId).commissionBps, 2_000, "due change applied first");
        assertEq(hub.commissionOf(poolId), 2_000, "new one still pending");
    }

    function test_SetCommission_Reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.NotPoolOperator.selector, poolId, address(this)));
        hub.setCommission(poolId, 100);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.UnknownPool.selector, 99));
        hub.setCommission(99, 100);
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.CommissionOutOfBounds.selector, 6_000, 0, MAX_COMMISSION));
        hub.setCommission(poolId, 6_000);
    }

    function test_Commission_ClampedWhenGovernanceNarrowsBounds() public {
        IStakingHub.Params memory p = defaultParams();
        p.maxCommissionBps = 500;
        vm.prank(GOVERNANCE);
        hub.setParams(p);
        assertEq(hub.commissionOf(poolId), 500, "clamped to max");
        p.minCommissionBps = 400;
        p.maxCommissionBps = 5_000;
        uint256 low = createPool(ALICE, 400);
        p.minCommissionBps = 450;
        vm.prank(GOVERNANCE);
        hub.setParams(p);
        assertEq(hub.commissionOf(low), 400, "a raised floor waits for the next settlement");
        hub.harvestPool(low);
        assertEq(hub.commissionOf(low), 450, "clamped to min");
    }

    // ------------------------------------------------------------ workers and eligibility

    function test_AddWorker_Reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.NotPoolOperator.selector, poolId, address(this)));
        hub.addWorker(poolId, WORKER2);

        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.WorkerNotOwnedByOperator.selector, WORKER2, OPERATOR));
        hub.addWorker(poolId, WORKER2);

        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.WorkerAlreadyInPool.selector, WORKER));
        hub.addWorker(poolId, WORKER);

        uint256 other = createPool(OPERATOR, 0);
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.WorkerBoundToOtherPool.selector, WORKER, poolId));
        hub.addWorker(other, WORKER);
    }

    function test_AddWorker_RevertsPastMaxWorkers() public {
        uint256 max = hub.MAX_WORKERS_PER_POOL();
        for (uint256 i = 1; i < max; ++i) {
            addWorker(poolId, OPERATOR, address(uint160(0x5000 + i)));
        }
        address extra = address(0x9999);
        registry.setOperator(extra, OPERATOR);
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.TooManyWorkers.selector, poolId));
        hub.addWorker(poolId, extra);
    }

    function test_Eligibility_FollowsMinStakePerWorker() public {
        assertFalse(hub.isEligible(WORKER), "no stake");
        stakeAs(OPERATOR, poolId, MIN_STAKE - 1);
        assertFalse(hub.isEligible(WORKER), "below min");
        stakeAs(ALICE, poolId, 1);
        assertTrue(hub.isEligible(WORKER), "at min");
        assertEq(hub.totalWeight(), 10, "weight in units of 100 PHA");

        addWorker(poolId, OPERATOR, WORKER2);
        assertFalse(hub.isEligible(WORKER), "two workers need twice the stake");
        assertEq(hub.totalWeight(), 0, "pool out of sampling");
        stakeAs(BOB, poolId, MIN_STAKE);
        assertTrue(hub.isEligible(WORKER) && hub.isEligible(WORKER2), "both eligible");
    }

    function test_RemoveWorker_LeavesSamplingButStaysBound() public {
        stakeAs(ALICE, poolId, 3 * MIN_STAKE);
        addWorker(poolId, OPERATOR, WORKER2);
        vm.prank(OPERATOR);
        vm.expectEmit(address(hub));
        emit IStakingHub.WorkerRemoved(poolId, WORKER);
        hub.removeWorker(poolId, WORKER);
        assertFalse(hub.isEligible(WORKER), "removed");
        assertTrue(hub.isEligible(WORKER2), "other stays");
        address[] memory workers = hub.poolWorkers(poolId);
        assertEq(workers.length, 1, "one left");
        assertEq(workers[0], WORKER2, "swapped in");
        for (uint256 seed; seed < 20; ++seed) {
            assertEq(hub.sampleWorker(seed), WORKER2, "only remaining worker sampled");
        }
        // Still slashable through its pool for faults before removal.
        vm.prank(address(router));
        assertGe(hub.slashForTimeout(WORKER, 1, 10 ether, REPORTER, 1 ether), 1, "late fault slashed");
        // And can be added back to the same pool.
        vm.prank(OPERATOR);
        hub.addWorker(poolId, WORKER);
        assertTrue(hub.isEligible(WORKER), "re-added");
    }

    function test_RemoveWorker_Reverts() public {
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.WorkerNotInPool.selector, WORKER2, poolId));
        hub.removeWorker(poolId, WORKER2);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.NotPoolOperator.selector, poolId, address(this)));
        hub.removeWorker(poolId, WORKER);
    }

    // ------------------------------------------------------------ staking and withdrawal

    function test_Stake_MintsSharesAndPullsPha() public {
        fund(ALICE, 5_000 ether);
        vm.prank(ALICE);
        vm.expectEmit(address(hub));
        emit IStakingHub.Staked(poolId, ALICE, ALICE, 5_000 ether, 5_000 ether);
        uint256 shares = hub.stake(poolId, 5_000 ether);
        assertEq(shares, 5_000 ether, "1:1 first stake");
        assertEq(hub.stakeOf(poolId, ALICE), 5_000 ether, "value");
        assertEq(pha.balanceOf(address(hub)), 5_000 ether, "pulled");
        assertTrue(hub.isEligible(WORKER), "eligible");
    }

    function test_Stake_Reverts() public {
        fund(ALICE, 10 ether);
        vm.startPrank(ALICE);
        vm.expectRevert(ICommonErrors.ZeroAmount.selector);
        hub.stake(poolId, 0);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.UnknownPool.selector, 7));
        hub.stake(7, 1 ether);
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        hub.stakeFor(poolId, 1 ether, address(0));
        vm.stopPrank();
    }

    function test_StakeFor_CreditsBeneficiary() public {
        fund(ALICE, 10 ether);
        vm.prank(ALICE);
        hub.stakeFor(poolId, 10 ether, BOB);
        assertEq(hub.sharesOf(poolId, BOB), 10 ether, "bob shares");
        assertEq(hub.sharesOf(poolId, ALICE), 0, "alice none");
    }

    function test_StakeWithPermit() public {
        uint256 key = 0xA11;
        address owner = vm.addr(key);
        pha.transfer(owner, 50 ether);
        uint256 deadline = block.timestamp + 1 hours;
        bytes32 structHash = keccak256(
            abi.encode(
                keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)"),
                owner,
                address(hub),
                50 ether,
                pha.nonces(owner),
                deadline
            )
        );
        (uint8 v, bytes32 r, bytes32 s) =
            vm.sign(key, keccak256(abi.encodePacked("\x19\x01", pha.DOMAIN_SEPARATOR(), structHash)));
        vm.prank(owner);
        hub.stakeWithPermit(poolId, 50 ether, deadline, v, r, s);
        assertEq(hub.stakeOf(poolId, owner), 50 ether, "staked via permit");
        // A replayed (already used) permit is ignored; without allowance the transfer then fails.
        pha.transfer(owner, 50 ether);
        vm.prank(owner);
        vm.expectRevert();
        hub.stakeWithPermit(poolId, 50 ether, deadline, v, r, s);
    }

    function test_Withdrawal_UnbondsThenPays() public {
        stakeAs(ALICE, poolId, 3_000 ether);
        vm.prank(ALICE);
        uint256 id = hub.requestWithdrawal(poolId, 1_000 ether);
        IStakingHub.Pool memory p = hub.poolState(poolId);
        assertEq(p.activeStake, 2_000 ether, "active");
        assertEq(p.unbondingStake, 1_000 ether, "unbonding");
        assertEq(hub.withdrawalValue(id), 1_000 ether, "value");
        assertEq(hub.totalWeight(), 20, "weight follows active stake");

        vm.prank(ALICE);
        vm.expectRevert(
            abi.encodeWithSelector(IStakingHub.StillUnbonding.selector, id, uint64(block.timestamp + UNBONDING))
        );
        hub.withdraw(id);
        vm.warp(block.timestamp + UNBONDING);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.NotWithdrawalOwner.selector, id, address(this)));
        hub.withdraw(id);
        vm.prank(ALICE);
        vm.expectEmit(address(hub));
        emit IStakingHub.Withdrawn(id, poolId, ALICE, 1_000 ether);
        hub.withdraw(id);
        assertEq(pha.balanceOf(ALICE), 1_000 ether, "paid");
        vm.prank(ALICE);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.UnknownWithdrawal.selector, id));
        hub.withdraw(id);
    }

    function test_Withdrawal_UnbondingPeriodFixedAtRequest() public {
        stakeAs(ALICE, poolId, 3_000 ether);
        vm.prank(ALICE);
        uint256 id = hub.requestWithdrawal(poolId, 1_000 ether);
        IStakingHub.Params memory p = defaultParams();
        p.unbondingPeriod = 30 days;
        vm.prank(GOVERNANCE);
        hub.setParams(p);
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(ALICE);
        assertEq(hub.withdraw(id), 1_000 ether, "old period honoured");
    }

    function test_RequestWithdrawal_Reverts() public {
        stakeAs(ALICE, poolId, 10 ether);
        vm.startPrank(ALICE);
        vm.expectRevert(ICommonErrors.ZeroAmount.selector);
        hub.requestWithdrawal(poolId, 0);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.InsufficientShares.selector, 11 ether, 10 ether));
        hub.requestWithdrawal(poolId, 11 ether);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.UnknownPool.selector, 3));
        hub.requestWithdrawal(3, 1);
        vm.stopPrank();
    }

    function test_Withdrawal_DropsEligibility() public {
        stakeAs(ALICE, poolId, MIN_STAKE);
        assertTrue(hub.isEligible(WORKER), "eligible");
        vm.prank(ALICE);
        hub.requestWithdrawal(poolId, 1 ether);
        assertFalse(hub.isEligible(WORKER), "below min after unbonding request");
        assertEq(hub.sampleWorker(42), address(0), "nothing to sample");
    }

    // ------------------------------------------------------------ rewards

    function test_Harvest_SplitsCommissionAndProRataRewards() public {
        stakeAs(ALICE, poolId, 3_000 ether);
        stakeAs(BOB, poolId, 1_000 ether);
        creditFees(WORKER, 100 ether);
        vm.expectEmit(address(hub));
        emit IStakingHub.RewardsDistributed(poolId, 100 ether, 10 ether);
        assertEq(hub.harvest(WORKER), 100 ether, "harvested");
        assertEq(hub.pendingRewards(poolId, ALICE), 67.5 ether, "alice 3/4 of 90");
        assertEq(hub.pendingRewards(poolId, BOB), 22.5 ether, "bob 1/4 of 90");
        assertEq(hub.positionValue(poolId, ALICE), 3_067.5 ether, "position value");

        vm.prank(ALICE);
        assertEq(hub.claimRewards(poolId), 67.5 ether, "claimed");
        assertEq(pha.balanceOf(ALICE), 67.5 ether, "alice paid");
        assertEq(hub.pendingRewards(poolId, ALICE), 0, "nothing left");
        vm.prank(ALICE);
        assertEq(hub.claimRewards(poolId), 0, "second claim empty");

        vm.prank(OPERATOR);
        assertEq(hub.claimCommission(poolId), 10 ether, "commission");
        assertEq(pha.balanceOf(OPERATOR), 10 ether, "operator paid");
    }

    function test_Rewards_LateStakerGetsNothingFromEarlierFees() public {
        stakeAs(ALICE, poolId, 1_000 ether);
        creditFees(WORKER, 10 ether);
        hub.harvest(WORKER);
        stakeAs(BOB, poolId, 1_000 ether);
        assertEq(hub.pendingRewards(poolId, BOB), 0, "bob joined after");
        creditFees(WORKER, 10 ether);
        hub.harvest(WORKER);
        assertEq(hub.pendingRewards(poolId, ALICE), 9 ether + 4.5 ether, "alice");
        assertEq(hub.pendingRewards(poolId, BOB), 4.5 ether, "bob");
    }

    function test_Rewards_KeptAcrossShareChanges() public {
        stakeAs(ALICE, poolId, 1_000 ether);
        creditFees(WORKER, 10 ether);
        hub.harvest(WORKER);
        vm.prank(ALICE);
        hub.requestWithdrawal(poolId, 1_000 ether);
        assertEq(hub.pendingRewards(poolId, ALICE), 9 ether, "settled on exit");
        vm.prank(ALICE);
        assertEq(hub.claimRewards(poolId), 9 ether, "claimable after exit");
    }

    function test_Harvest_WithoutStakersGoesToOperator() public {
        creditFees(WORKER, 10 ether);
        hub.harvest(WORKER);
        assertEq(hub.poolState(poolId).commissionAccrued, 10 ether, "all commission");
    }

    function test_Harvest_NothingAccrued() public {
        assertEq(hub.harvest(WORKER), 0, "zero");
    }

    function test_HarvestPool_CollectsEveryWorker() public {
        stakeAs(ALICE, poolId, 2 * MIN_STAKE);
        addWorker(poolId, OPERATOR, WORKER2);
        creditFees(WORKER, 10 ether);
        creditFees(WORKER2, 30 ether);
        assertEq(hub.harvestPool(poolId), 40 ether, "both");
        assertEq(hub.pendingRewards(poolId, ALICE), 36 ether, "rewards");
    }

    function test_Harvest_Reverts() public {
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.UnknownWorker.selector, WORKER2));
        hub.harvest(WORKER2);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.UnknownPool.selector, 9));
        hub.harvestPool(9);
        StakingHub fresh =
            new StakingHub(pha, IWorkerRegistry(address(registry)), TREASURY, defaultParams(), GOVERNANCE);
        vm.prank(OPERATOR);
        uint256 id = fresh.createPool(0);
        registry.setOperator(WORKER2, OPERATOR);
        vm.prank(OPERATOR);
        fresh.addWorker(id, WORKER2);
        vm.expectRevert(IStakingHub.RouterNotSet.selector);
        fresh.harvest(WORKER2);
    }

    function test_ClaimCommission_OnlyOperator() public {
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.NotPoolOperator.selector, poolId, address(this)));
        hub.claimCommission(poolId);
    }

    function test_ClaimRewards_UnknownPool() public {
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.UnknownPool.selector, 5));
        hub.claimRewards(5);
    }

    // ------------------------------------------------------------ slashing

    function test_SlashForTimeout_OnlyRouter() public {
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.NotRouter.selector, address(this)));
        hub.slashForTimeout(WORKER, 1, 10 ether, REPORTER, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.NotRouter.selector, address(this)));
        hub.slashForEquivocation(WORKER, 1, REPORTER, 1 ether);
    }

    function test_SlashForTimeout_UnknownWorkerReturnsZero() public {
        assertEq(router.slashForTimeout(address(0xDEAD), 1, 10 ether, REPORTER, 1 ether), 0, "no-op");
        assertEq(router.slashForTimeout(WORKER, 1, 10 ether, REPORTER, 1 ether), 0, "unstaked pool no-op");
    }

    function test_SlashForTimeout_TakesTheAmountFromActiveAndUnbonding() public {
        stakeAs(ALICE, poolId, 6_000 ether);
        vm.prank(ALICE);
        uint256 id = hub.requestWithdrawal(poolId, 2_000 ether);

        vm.expectEmit(address(hub));
        emit IStakingHub.Slashed(poolId, WORKER, 7, IStakingHub.SlashKind.Timeout, 0, 40 ether, 20 ether, 6 ether, 54 ether);
        uint256 slashed = router.slashForTimeout(WORKER, 7, 60 ether, REPORTER, 6 ether);
        assertEq(slashed, 60 ether, "the router's amount");
        assertEq(pha.balanceOf(REPORTER), 6 ether, "the router's reward");
        assertEq(pha.balanceOf(CONSUMER), 0, "no one else paid");
        assertEq(pha.balanceOf(TREASURY), 54 ether, "treasury rest");
        assertEq(hub.stakeOf(poolId, ALICE), 3_960 ether, "active rate lowered");
        assertEq(hub.withdrawalValue(id), 1_980 ether, "queued rate lowered");
        vm.warp(block.timestamp + UNBONDING);
        vm.prank(ALICE);
        assertEq(hub.withdraw(id), 1_980 ether, "queued withdrawal paid net of slash");
    }

    function test_SlashForTimeout_ZeroReporterGoesToTreasury() public {
        stakeAs(ALICE, poolId, 10_000 ether);
        router.slashForTimeout(WORKER, 1, 100 ether, address(0), 5 ether);
        assertEq(pha.balanceOf(TREASURY), 100 ether, "all to treasury");
    }

    function test_SlashForTimeout_CappedByThePoolAndTheRewardByTheSlash() public {
        stakeAs(ALICE, poolId, 1_000 ether);
        uint256 slashed = router.slashForTimeout(WORKER, 1, 5_000 ether, REPORTER, 2_000 ether);
        assertEq(slashed, 1_000 ether, "no more than the pool holds");
        assertEq(pha.balanceOf(REPORTER), 1_000 ether, "reward capped by what was slashed");
        assertEq(pha.balanceOf(TREASURY), 0, "nothing left");
        assertEq(hub.poolState(poolId).activeStake, 0, "emptied");
    }

    function test_SlashForEquivocation_JailsAndSlashesHard() public {
        stakeAs(ALICE, poolId, 10_000 ether);
        assertTrue(hub.isEligible(WORKER), "eligible before");
        vm.expectEmit(address(hub));
        emit IStakingHub.WorkerJailed(poolId, WORKER, 3);
        uint256 slashed = router.slashForEquivocation(WORKER, 3, REPORTER, 1 ether);
        assertEq(slashed, 2_000 ether, "20%");
        assertEq(pha.balanceOf(REPORTER), 1 ether, "the router's reward");
        assertEq(pha.balanceOf(TREASURY), 1_999 ether, "the rest to the treasury");
        assertFalse(hub.isEligible(WORKER), "ineligible");
        assertEq(hub.sampleWorker(1), address(0), "out of sampling");
        (, bool active, bool jailed,) = hub.workerInfo(WORKER);
        assertFalse(active, "detached");
        assertTrue(jailed, "jailed");
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.WorkerIsJailed.selector, WORKER));
        hub.addWorker(poolId, WORKER);
    }

    function test_SlashForEquivocation_UnknownWorkerJailedForGood() public {
        assertEq(router.slashForEquivocation(WORKER2, 1, REPORTER, 1 ether), 0, "nothing to slash");
        registry.setOperator(WORKER2, OPERATOR);
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.WorkerIsJailed.selector, WORKER2));
        hub.addWorker(poolId, WORKER2);
    }

    function test_SlashForEquivocation_EmptyPoolStillDetaches() public {
        uint256 slashed = router.slashForEquivocation(WORKER, 1, REPORTER, 1 ether);
        assertEq(slashed, 0, "no stake");
        assertEq(hub.poolState(poolId).workerCount, 0, "detached");
    }

    function test_Slash_KeepsRewardsAndStakersRecords() public {
        stakeAs(ALICE, poolId, 4_000 ether);
        creditFees(WORKER, 10 ether);
        hub.harvest(WORKER);
        router.slashForEquivocation(WORKER, 1, REPORTER, 1 ether);
        assertEq(hub.pendingRewards(poolId, ALICE), 9 ether, "rewards not slashed");
        assertEq(hub.sharesOf(poolId, ALICE), 4_000 ether, "shares untouched");
    }

    // ------------------------------------------------------------ sampling

    function test_SampleWorker_NoneEligible() public view {
        assertEq(hub.sampleWorker(123), address(0), "none");
    }

    function test_SampleWorker_StakeWeighted() public {
        address workerB = address(0x2002);
        uint256 poolB = createPool(ALICE, 0);
        addWorker(poolB, ALICE, workerB);
        stakeAs(OPERATOR, poolId, 1_000 ether);
        stakeAs(ALICE, poolB, 3_000 ether);
        // Seeds 0..39 cover every weight unit exactly once: the first 10 units belong to pool 1.
        uint256 hitsA;
        for (uint256 seed; seed < 40; ++seed) {
            if (hub.sampleWorker(seed) == WORKER) ++hitsA;
        }
        assertEq(hitsA, 10, "exactly 1/4 of the weight range");
    }

    function test_SampleWorker_UniformWithinPool() public {
        stakeAs(ALICE, poolId, 2 * MIN_STAKE);
        addWorker(poolId, OPERATOR, WORKER2);
        uint256 total = hub.totalWeight();
        assertEq(hub.sampleWorker(0), WORKER, "high part 0 -> first worker");
        assertEq(hub.sampleWorker(total), WORKER2, "high part 1 -> second worker");
    }

    function test_SyncPools_AppliesNewMinStake() public {
        stakeAs(ALICE, poolId, MIN_STAKE);
        IStakingHub.Params memory p = defaultParams();
        p.minStakePerWorker = 2 * MIN_STAKE;
        vm.prank(GOVERNANCE);
        hub.setParams(p);
        assertTrue(hub.isEligible(WORKER), "until synced");
        uint256[] memory ids = new uint256[](1);
        ids[0] = poolId;
        hub.syncPools(ids);
        assertFalse(hub.isEligible(WORKER), "after sync");
        ids[0] = 77;
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.UnknownPool.selector, 77));
        hub.syncPools(ids);
    }

    function test_SampleWorker_ManyPoolsEveryPoolReachable() public {
        uint256 pools = 120;
        for (uint256 i = 1; i < pools; ++i) {
            address op = address(uint160(0x3000 + i));
            uint256 id = createPool(op, 0);
            addWorker(id, op, address(uint160(0x4000 + i)));
            stakeAs(op, id, MIN_STAKE);
        }
        stakeAs(OPERATOR, poolId, MIN_STAKE);
        assertEq(hub.totalWeight(), pools * 10, "total");
        assertEq(hub.sampleWorker(0), WORKER, "first range");
        for (uint256 i = 1; i < pools; ++i) {
            assertEq(hub.sampleWorker(i * 10 + 9), address(uint160(0x4000 + i)), "pool range end");
        }
    }
}
