// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "../core/RouterFixture.sol";
import {StakingHub} from "../../contracts/staking/StakingHub.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {MiningRewards} from "../../contracts/staking/MiningRewards.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IWorkerStaking} from "../../contracts/interfaces/IWorkerStaking.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {RecordingConsumer} from "../core/TestDoubles.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice Mining through the real router and hub: work bought by the worker's own operator, and
/// a worker jailed for equivocation.
contract MiningRewardsAttacksTest is RouterFixture {
    uint128 internal constant EPOCH_BUDGET = 1_000 ether;
    uint256 internal constant REQUESTS = 20;

    StakingHub internal hub;
    MiningRewards internal mining;
    uint256 internal poolId;
    uint256 internal freeAgent;
    address internal worker;

    function setUp() public override {
        super.setUp();
        // The fixture's router is wired to a mock staking for good (staking is set once): a router
        // of the same configuration on the real hub replaces it, with its own consumer and account.
        router = new AgentRouter(
            IERC20(address(token)), agents, workers, address(this), treasury, _defaultConfig(), MAX_INPUT_BYTES
        );
        workers.setRouter(address(router));
        hub = new StakingHub(token, workers, treasury, _stakingParams(), address(this));
        hub.setRouter(address(router));
        router.setStaking(IWorkerStaking(address(hub)));
        // Mining's arithmetic alone: a capacity fee would only add to the self-dealer's loss.
        router.setCapacityPrice(0);
        consumer = new RecordingConsumer(router);
        accountId = _openAccount(payer, address(consumer), ACCOUNT_FUNDS);
        mining = new MiningRewards(
            token,
            address(hub),
            MiningRewards.Schedule({
                initialEpochBudget: EPOCH_BUDGET,
                decayBps: 1_000,
                decayEpochs: 30,
                shareBps: 8_000,
                faultPenalty: 1 days
            }),
            3_000,
            address(this)
        );
        hub.setMiningRewards(address(mining));
        token.approve(address(mining), 1_000_000 ether);
        mining.fund(1_000_000 ether);

        // The attacker is the operator of the only pool, so every request is assigned to its worker,
        // owns a zero-price agent, pays from its own account and relays its own answers.
        worker = workerAddrs[0];
        vm.prank(operator);
        poolId = hub.createPool(0);
        vm.prank(operator);
        hub.addWorker(poolId, worker);
        token.transfer(operator, 1_000 ether);
        vm.prank(operator);
        token.approve(address(hub), 1_000 ether);
        vm.prank(operator);
        hub.stake(poolId, 1_000 ether);
        freeAgent = _registerAgent(operator, 0, new bytes32[](0));
    }

    /// Issue 20 attack: fake work. The operator buys REQUESTS answers from its own worker and settles
    /// them; with the whole epoch budget (1,000 PHA) to itself it would profit without the cap. It
    /// gets back the worker fees (its pool), the relayer reimbursement (itself), the refund (its
    /// account) and the mining reward; the protocol fee is gone, and the reward is at most 80% of it.
    ///   20 answers × 0.5 PHA worker fee = 10 PHA of work; protocol fee 5% = 0.5 PHA paid;
    ///   reward = min(1,000 × 10/10, 10 × 5% × 80%) = 0.4 PHA; net −0.1 PHA.
    function test_SelfDealtWork_CostsMoreThanItMines() public {
        uint256 before = _attackerWorth();
        uint256 protocolBefore = router.protocolFees();
        for (uint256 i; i < REQUESTS; ++i) {
            _buyAnswer();
        }
        hub.harvestPool(poolId);
        vm.warp(mining.genesis() + 2 * mining.EPOCH());
        _buyAnswer(); // any later fee settles the epoch's reward, final two epochs after
        hub.harvestPool(poolId);

        uint256 protocolPaid = router.protocolFees() - protocolBefore;
        uint256 mined = mining.released();
        uint256 work = REQUESTS * WORKER_FEE;
        assertEq(protocolPaid, (REQUESTS + 1) * WORKER_FEE * PROTOCOL_FEE_BPS / 10_000, "0.525 PHA protocol fee");
        assertEq(mined, work * PROTOCOL_FEE_BPS * 8_000 / 1e8, "0.4 PHA: the cap binds");
        assertTrue(EPOCH_BUDGET > protocolPaid, "the uncapped split (the whole budget) would have paid");
        uint256 after_ = _attackerWorth();
        assertLe(after_ + 1, before, "self-dealing loses");
        assertApproxEq(before - after_, protocolPaid - mined, 2, "loss = protocol fee - reward");
    }

    /// Through the real router: answers of epoch 0 collected during epoch 1, after an answer of
    /// epoch 1, are counted in epoch 0 and the new one in epoch 1 (the router's book splits them).
    function test_WorkCollectedNextEpoch_CountedInTheEpochOfTheAnswers() public {
        _buyAnswer();
        _buyAnswer();
        vm.warp(mining.genesis() + mining.EPOCH() + 1 hours);
        _buyAnswer();
        hub.harvestPool(poolId);
        assertEq(mining.epochTotals(0).work, 2 * WORKER_FEE, "epoch 0: its two answers");
        assertEq(mining.epochTotals(1).work, WORKER_FEE, "epoch 1: its one answer");
        assertEq(router.workerFees(worker), 0, "all fees collected");
        vm.warp(mining.genesis() + 2 * mining.EPOCH());
        hub.harvestPool(poolId);
        assertEq(mining.releasedIn(0), uint256(WORKER_FEE) * 2 * PROTOCOL_FEE_BPS * 8_000 / 1e8, "epoch 0 paid from epoch 2");
        assertEq(mining.releasedIn(1), 0, "epoch 1 not final yet");
    }

    /// A worker jailed for two different answers: its pool earns nothing for the epoch.
    function test_JailedWorker_EarnsNothingForTheEpoch() public {
        _buyAnswer();
        IAgentRouter.AgentRequest memory req = _buyAnswer();
        uint256 key = workerKeyOf[req.worker];
        router.reportEquivocation(
            req, _answer(key, req, bytes("positive"), 0), _answer(key, req, bytes("negative"), 0)
        );
        assertTrue(workers.workerOf(worker).jailed, "jailed");
        hub.harvestPool(poolId);
        vm.warp(mining.genesis() + 2 * mining.EPOCH());
        hub.harvestPool(poolId);
        assertEq(mining.released(), 0, "nothing mined");
        assertEq(mining.poolRecord(poolId).work, 0, "no work pending");
    }

    // ---------------------------------------------------------------- helpers

    function _buyAnswer() internal returns (IAgentRouter.AgentRequest memory req) {
        vm.recordLogs();
        consumer.request(accountId, freeAgent, bytes("buy"), 0, CALLBACK_GAS, MAX_FEE);
        req = _requestFromLogs();
        assertEq(req.worker, worker, "assigned to the attacker's worker");
        IAgentRouter.Fulfillment memory answer = _fulfillment(req, bytes("positive"));
        vm.prank(relayer);
        router.fulfill(answer);
    }

    /// @dev Everything the attacker holds or is owed: its account, its router earnings (agent and
    /// relayer), its pool position with unclaimed fees, commission and uncollected worker fees.
    function _attackerWorth() internal view returns (uint256) {
        return _balanceOf(accountId) + router.earnings(operator) + router.earnings(relayer)
            + hub.positionValue(poolId, operator)
            + hub.poolState(poolId).commissionAccrued + router.workerFees(worker);
    }

    function _stakingParams() internal pure returns (IStakingHub.Params memory) {
        return IStakingHub.Params({
            minStakePerWorker: 1_000 ether,
            unbondingPeriod: 1 days,
            commissionChangeDelay: 1 days,
            equivocationSlashBps: 2_000,
            minCommissionBps: 0,
            maxCommissionBps: 5_000,
            minBondPerWorker: 0
        });
    }
}
