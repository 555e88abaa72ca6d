// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {StakingFixture} from "./StakingFixture.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IAgentRegistry} from "../../contracts/interfaces/IAgentRegistry.sol";
import {IWorkerRegistry} from "../../contracts/interfaces/IWorkerRegistry.sol";
import {RefusingRouter, GasBurningRouter} from "./mocks/HostileRouters.sol";

/// @notice Fee settlement before share changes, retiring workers, and sampling kept in step with
/// the registry (attestation expiry, revocation).
contract StakingHubSettlementTest is StakingFixture {
    address internal constant WORKER = address(0x1001);
    address internal constant WORKER2 = address(0x1002);
    uint256 internal poolId;

    function setUp() public override {
        super.setUp();
        poolId = createPool(OPERATOR, 0);
        addWorker(poolId, OPERATOR, WORKER);
    }

    // ---------------------------------------------------------------- settlement

    function test_Stake_SettlesEveryWorkerOfThePool() public {
        addWorker(poolId, OPERATOR, WORKER2);
        stakeAs(BOB, poolId, 2_000 ether);
        creditFees(WORKER, 100 ether);
        creditFees(WORKER2, 50 ether);
        fund(ALICE, 2_000 ether);
        vm.expectEmit(address(hub));
        emit IStakingHub.RewardsDistributed(poolId, 150 ether, 0);
        vm.prank(ALICE);
        hub.stake(poolId, 2_000 ether);
        assertEq(router.workerFees(WORKER) + router.workerFees(WORKER2), 0, "all collected");
        assertApproxEq(hub.pendingRewards(poolId, BOB), 150 ether, 1, "to the earlier staker");
    }

    function test_RetiringWorker_SettledUntilRetireDelayThenDropped() public {
        addWorker(poolId, OPERATOR, WORKER2);
        stakeAs(BOB, poolId, 2_000 ether);
        vm.prank(OPERATOR);
        hub.removeWorker(poolId, WORKER2);
        assertEq(hub.poolState(poolId).retiringCount, 1, "retiring");

        vm.warp(block.timestamp + hub.RETIRE_DELAY());
        creditFees(WORKER2, 10 ether);
        hub.harvestPool(poolId);
        assertEq(router.workerFees(WORKER2), 0, "still settled at the retire time");
        assertEq(hub.poolState(poolId).retiringCount, 1, "not dropped in its last block");

        vm.warp(block.timestamp + 1);
        creditFees(WORKER2, 10 ether);
        vm.expectEmit(address(hub));
        emit IStakingHub.WorkerRetired(poolId, WORKER2);
        hub.harvestPool(poolId);
        assertEq(hub.poolState(poolId).retiringCount, 0, "dropped after");
        assertApproxEq(hub.pendingRewards(poolId, BOB), 20 ether, 1, "both late fees to the stakers");
    }

    function test_RetireDelay_CoversTheRouterRequestTimeout() public {
        AgentRouter real = new AgentRouter(
            pha,
            IAgentRegistry(address(1)),
            IWorkerRegistry(address(registry)),
            address(this),
            TREASURY,
            AgentRouterState.Config({
                workerFee: 0,
                phaPerGas: 0,
                protocolFeeBps: 0,
                timeoutPenaltyBps: 0,
                fulfillOverheadGas: 0,
                maxCallbackGasLimit: 100_000,
                requestTimeout: 120,
                maxPendingPerWorker: 16
            }),
            1_024
        );
        assertGe(hub.RETIRE_DELAY(), real.MAX_REQUEST_TIMEOUT(), "a removed worker's last answer is settled");
    }

    function test_RetiringWorkers_CountTowardMaxWorkers() public {
        uint256 max = hub.MAX_WORKERS_PER_POOL();
        for (uint256 i = 1; i < max; ++i) {
            addWorker(poolId, OPERATOR, address(uint160(0x5000 + i)));
        }
        vm.prank(OPERATOR);
        hub.removeWorker(poolId, WORKER);
        registry.setOperator(WORKER2, OPERATOR);
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.TooManyWorkers.selector, poolId));
        hub.addWorker(poolId, WORKER2);

        // The removed worker itself may come back (it leaves the retiring list).
        vm.prank(OPERATOR);
        hub.addWorker(poolId, WORKER);
        assertEq(hub.poolState(poolId).retiringCount, 0, "back to active");
        vm.warp(block.timestamp + hub.RETIRE_DELAY() + 1);
        hub.harvestPool(poolId);
        (, bool active,,) = hub.workerInfo(WORKER);
        assertTrue(active, "not retired while active");
    }

    function test_RefusingRouter_DoesNotBlockStakesOrWithdrawals() public {
        stakeAs(BOB, poolId, 2_000 ether);
        RefusingRouter refusing = new RefusingRouter();
        vm.prank(GOVERNANCE);
        hub.setRouter(address(refusing));
        stakeAs(ALICE, poolId, 1_000 ether);
        uint256 shares = hub.sharesOf(poolId, BOB);
        vm.prank(BOB);
        hub.requestWithdrawal(poolId, shares);
    }

    /// A caller who picks a gas limit that starves the fee collection (while leaving enough for the
    /// rest) would skip the settlement; the hub reverts instead.
    function test_StarvedCollection_RevertsInsteadOfSkippingSettlement() public {
        GasBurningRouter burning = new GasBurningRouter();
        vm.prank(GOVERNANCE);
        hub.setRouter(address(burning));
        fund(ALICE, 1_000 ether);
        vm.prank(ALICE);
        vm.expectRevert(IStakingHub.FeeCollectionOutOfGas.selector);
        hub.stake{gas: 2_000_000}(poolId, 1_000 ether);
    }

    // ---------------------------------------------------------------- registry status

    function test_AddWorker_RefusesWorkerThatCannotServe() public {
        vm.warp(1_000);
        registry.setOperator(WORKER2, OPERATOR);
        registry.setExpiry(WORKER2, uint64(block.timestamp - 1));
        vm.prank(OPERATOR);
        vm.expectRevert(abi.encodeWithSelector(IStakingHub.WorkerCannotServe.selector, WORKER2));
        hub.addWorker(poolId, WORKER2);
    }

    function test_SyncWorkers_DropsExpiredAndRevokedAndKeepsWeightInStep() public {
        addWorker(poolId, OPERATOR, WORKER2);
        stakeAs(BOB, poolId, 5_000 ether);
        assertEq(hub.totalWeight(), 50, "weight");
        registry.revoke(WORKER2);
        registry.setExpiry(WORKER, uint64(block.timestamp + 10));
        address[] memory workers = new address[](2);
        (workers[0], workers[1]) = (WORKER, WORKER2);

        hub.syncWorkers(workers);
        assertEq(hub.poolWorkers(poolId).length, 1, "revoked one left sampling");
        assertTrue(hub.isEligible(WORKER), "still eligible");

        vm.warp(block.timestamp + 11);
        assertFalse(hub.isEligible(WORKER), "not eligible once expired");
        vm.expectEmit(address(hub));
        emit IStakingHub.WorkerSuspended(poolId, WORKER);
        hub.syncWorkers(workers);
        assertEq(hub.totalWeight(), 0, "pool without servable workers has no weight");
        assertEq(hub.sampleWorker(1), address(0), "nothing to sample");
        assertEq(hub.poolState(poolId).retiringCount, 2, "both still settled");
    }

    function test_SampleWorker_ManyDeadPoolsStillFindsTheLiveOne() public {
        // Ten heavy pools whose only worker expired, one light live pool.
        for (uint256 i; i < 10; ++i) {
            address operator = address(uint160(0x7000 + i));
            address worker = address(uint160(0x8000 + i));
            uint256 id = createPool(operator, 0);
            registry.setExpiry(worker, uint64(block.timestamp + 1));
            addWorker(id, operator, worker);
            stakeAs(operator, id, 10_000 ether);
        }
        stakeAs(BOB, poolId, 1_000 ether);
        vm.warp(block.timestamp + 2);
        for (uint256 s; s < 50; ++s) {
            assertEq(hub.sampleWorker(uint256(keccak256(abi.encode(s)))), WORKER, "live worker found");
        }
    }
}
