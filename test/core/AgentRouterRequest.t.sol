// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {MockKeyRegistry, RecordingConsumer} from "./TestDoubles.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {AgentRegistry} from "../../contracts/agents/AgentRegistry.sol";
import {BillingAccounts} from "../../contracts/core/BillingAccounts.sol";
import {WorkerRegistry} from "../../contracts/workers/WorkerRegistry.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IWorkerStaking} from "../../contracts/interfaces/IWorkerStaking.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";
import {IAgentRegistry} from "../../contracts/interfaces/IAgentRegistry.sol";
import {IBillingAccounts} from "../../contracts/interfaces/IBillingAccounts.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";

contract AgentRouterRequestTest is RouterFixture {
    function test_RequestReservesMaxFeeAndCommitsToTheEventStruct() public {
        bytes memory input = bytes("what a great day");
        IAgentRouter.AgentRequest memory req = _request(input, CALLBACK_GAS, MAX_FEE);

        assertEq(req.id, 1, "first id");
        assertEq(router.requestCount(), 1, "count");
        assertEq(req.agentId, agentId, "agent");
        assertEq(req.consumer, address(consumer), "consumer");
        assertEq(req.accountId, accountId, "account");
        assertEq(workerKeyOf[req.worker] != 0, true, "assigned a registered worker");
        assertEq(req.agentVersion, 1, "version");
        assertEq(req.keyEpoch, 0, "plaintext");
        assertEq(req.callbackGasLimit, CALLBACK_GAS, "gas");
        assertEq(req.agentOwner, agentOwner, "owner");
        assertEq(req.agentPrice, AGENT_PRICE, "price");
        assertEq(req.maxFee, MAX_FEE, "maxFee");
        assertEq(req.deadline, block.timestamp + REQUEST_TIMEOUT, "deadline");
        assertEq(req.codeHash, AGENT_CODE, "code");
        assertEq(req.inputHash, keccak256(input), "input hash");

        assertTrue(router.isPending(req.id), "pending");
        assertEq(router.commitmentOf(req.id), keccak256(abi.encode(req)), "commitment");
        BillingAccounts.Account memory account = router.accountOf(accountId);
        assertEq(account.balance, ACCOUNT_FUNDS, "balance untouched");
        assertEq(account.reserved, MAX_FEE, "reserved");
        assertEq(account.pendingRequests, 1, "pending count");
    }

    function test_RequestSnapshotsTheCurrentCodeVersion() public {
        vm.prank(agentOwner);
        agents.updateCode(agentId, keccak256("v2"), "file:///v2.js");
        IAgentRouter.AgentRequest memory req = _request();
        assertEq(req.agentVersion, 2, "version");
        assertEq(req.codeHash, keccak256("v2"), "code");
    }

    function test_RevertWhen_ConsumerNotAllowed() public {
        vm.prank(stranger);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.ConsumerNotAllowed.selector, accountId, stranger));
        router.request(accountId, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
    }

    function test_RevertWhen_ConsumerRemoved() public {
        vm.prank(payer);
        router.removeConsumer(accountId, address(consumer));
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.ConsumerNotAllowed.selector, accountId, address(consumer)));
        consumer.request(accountId, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
    }

    function test_RevertWhen_CallbackGasTooHigh() public {
        vm.expectRevert(
            abi.encodeWithSelector(IAgentRouter.CallbackGasLimitTooHigh.selector, MAX_CALLBACK_GAS + 1, MAX_CALLBACK_GAS)
        );
        consumer.request(accountId, agentId, "x", 0, MAX_CALLBACK_GAS + 1, type(uint96).max);
    }

    function test_CallbackGasAtTheLimitIsAccepted() public {
        IAgentRouter.AgentRequest memory req = _request("x", MAX_CALLBACK_GAS, MAX_FEE);
        assertEq(req.callbackGasLimit, MAX_CALLBACK_GAS, "limit");
    }

    function test_RevertWhen_InputTooLarge() public {
        bytes memory input = new bytes(MAX_INPUT_BYTES + 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.InputTooLarge.selector, MAX_INPUT_BYTES + 1, MAX_INPUT_BYTES));
        consumer.request(accountId, agentId, input, 0, CALLBACK_GAS, MAX_FEE);
        _request(new bytes(MAX_INPUT_BYTES), CALLBACK_GAS, MAX_FEE);
    }

    function test_RevertWhen_KeyEpochWithoutKeyRegistry() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.KeyEpochNotUsable.selector, uint32(3)));
        consumer.request(accountId, agentId, "ciphertext", 3, CALLBACK_GAS, MAX_FEE);
    }

    function test_KeyEpochCheckedAgainstKeyRegistry() public {
        MockKeyRegistry keys = new MockKeyRegistry();
        router.setKeyRegistry(keys);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.KeyEpochNotUsable.selector, uint32(3)));
        consumer.request(accountId, agentId, "ciphertext", 3, CALLBACK_GAS, MAX_FEE);

        keys.setUsable(3, true);
        vm.recordLogs();
        consumer.request(accountId, agentId, "ciphertext", 3, CALLBACK_GAS, MAX_FEE);
        assertEq(_requestFromLogs().keyEpoch, 3, "epoch recorded");
    }

    function test_RevertWhen_AgentPaused() public {
        vm.prank(agentOwner);
        agents.pause(agentId);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.AgentIsPaused.selector, agentId));
        consumer.request(accountId, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
    }

    function test_RevertWhen_CallerNotAllowedByAgent() public {
        vm.prank(agentOwner);
        agents.setOpenToAllCallers(agentId, false);
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.CallerNotAllowed.selector, agentId, address(consumer)));
        consumer.request(accountId, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);

        vm.prank(agentOwner);
        agents.setCallerAllowed(agentId, address(consumer), true);
        _request();
    }

    function test_RevertWhen_UnknownAgent() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentRegistry.UnknownAgent.selector, uint256(99)));
        consumer.request(accountId, 99, "x", 0, CALLBACK_GAS, MAX_FEE);
    }

    /// The estimate is the minimum with headroom on the capacity fee; the minimum itself is exact.
    function test_EstimateFeeIsTheMinimumWithHeadroom() public {
        router.setCapacityPrice(router.DEFAULT_CAPACITY_PRICE());
        uint256 estimate = router.estimateFee(agentId, CALLBACK_GAS);
        assertEq(estimate, _expectedEstimate(AGENT_PRICE, CALLBACK_GAS, _defaultConfig()), "formula");
        uint256 required = _expectedMinimumFee(AGENT_PRICE, CALLBACK_GAS, _defaultConfig());
        assertTrue(estimate > required, "headroom");

        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.MaxFeeTooLow.selector, required - 1, required));
        consumer.request(accountId, agentId, "x", 0, CALLBACK_GAS, uint96(required - 1));

        IAgentRouter.AgentRequest memory req = _request("x", CALLBACK_GAS, uint96(required));
        assertEq(req.maxFee, required, "accepted at the minimum");
    }

    function test_RevertWhen_InsufficientBalance() public {
        uint64 poor = _openAccount(payer, address(consumer), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.InsufficientBalance.selector, poor, 1 ether, MAX_FEE));
        consumer.request(poor, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
    }

    function test_RevertWhen_ReservationsExhaustTheBalance() public {
        uint64 small = _openAccount(payer, address(consumer), 15 ether);
        consumer.request(small, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.InsufficientBalance.selector, small, 5 ether, MAX_FEE));
        consumer.request(small, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
    }

    function test_RevertWhen_NoWorkerInStaking() public {
        staking.clearWorkers();
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.NoEligibleWorker.selector, agentId));
        consumer.request(accountId, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
    }

    function test_RevertWhen_AllWorkersJailed() public {
        for (uint256 i; i < workerAddrs.length; ++i) {
            vm.prank(address(router));
            workers.jail(workerAddrs[i]);
        }
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.NoEligibleWorker.selector, agentId));
        consumer.request(accountId, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
    }

    function test_RevertWhen_AllWorkersExpired() public {
        vm.warp(block.timestamp + VALIDITY + 1);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.NoEligibleWorker.selector, agentId));
        consumer.request(accountId, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
    }

    function test_RevertWhen_AgentAllowsNoMeasurementOfAnyWorker() public {
        bytes32[] memory only = new bytes32[](1);
        only[0] = OTHER_MEASUREMENT;
        uint256 picky = _registerAgent(agentOwner, AGENT_PRICE, only);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.NoEligibleWorker.selector, picky));
        consumer.request(accountId, picky, "x", 0, CALLBACK_GAS, MAX_FEE);
    }

    function test_AssignsOnlyWorkersRunningAnAllowedMeasurement() public {
        workers.setMeasurementApproved(OTHER_MEASUREMENT, true);
        address other = _registerWorker(0xB0B, operator, OTHER_MEASUREMENT);
        // Half the sampled stake can serve the agent: eight attempts find it but for a 1/256 chance
        // (fixed here by the deterministic seed).
        staking.clearWorkers();
        staking.addWorker(workerAddrs[0]);
        staking.addWorker(other);
        bytes32[] memory only = new bytes32[](1);
        only[0] = OTHER_MEASUREMENT;
        uint256 picky = _registerAgent(agentOwner, AGENT_PRICE, only);
        for (uint256 i; i < 5; ++i) {
            vm.recordLogs();
            consumer.request(accountId, picky, abi.encode(i), 0, CALLBACK_GAS, MAX_FEE);
            assertEq(_requestFromLogs().worker, other, "only the v2 worker");
        }
    }

    function test_RevertWhen_StakingNotSet() public {
        AgentRouter unwired = new AgentRouter(
            IERC20(address(token)), agents, workers, address(this), treasury, _defaultConfig(), MAX_INPUT_BYTES
        );
        uint64 id = unwired.createAccount();
        unwired.addConsumer(id, address(this));
        token.approve(address(unwired), MAX_FEE);
        unwired.fund(id, MAX_FEE);
        vm.expectRevert(IAgentRouter.StakingNotSet.selector);
        unwired.request(id, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
    }

    function test_RevertWhen_RouterPaused() public {
        router.pause();
        vm.expectRevert(Pausable.EnforcedPause.selector);
        consumer.request(accountId, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
        router.unpause();
        _request();
    }

    function test_RequestIdsIncrease() public {
        assertEq(_request().id, 1, "first");
        assertEq(_request().id, 2, "second");
        assertEq(_reservedOf(accountId), 2 * uint256(MAX_FEE), "both reserved");
    }

    function test_EoaConsumerMayRequest() public {
        vm.prank(payer);
        router.addConsumer(accountId, payer);
        vm.prank(payer);
        uint256 id = router.request(accountId, agentId, "x", 0, CALLBACK_GAS, MAX_FEE);
        assertTrue(router.isPending(id), "pending");
    }

    function test_ConstructorRejectsZeroAddresses() public {
        AgentRouterState.Config memory config = _defaultConfig();
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        new AgentRouter(IERC20(address(0)), agents, workers, address(this), treasury, config, 1);
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        new AgentRouter(IERC20(address(token)), AgentRegistry(address(0)), workers, address(this), treasury, config, 1);
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        new AgentRouter(IERC20(address(token)), agents, WorkerRegistry(address(0)), address(this), treasury, config, 1);
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        new AgentRouter(IERC20(address(token)), agents, workers, address(this), address(0), config, 1);
        config.protocolFeeBps = router.MAX_PROTOCOL_FEE_BPS() + 1;
        vm.expectRevert(IAgentRouter.InvalidConfig.selector);
        new AgentRouter(IERC20(address(token)), agents, workers, address(this), treasury, config, 1);
    }
}
