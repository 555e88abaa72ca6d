// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "../core/RouterFixture.sol";
import {MockKeyRegistry} from "../core/TestDoubles.sol";
import {AgentConsumer} from "../../contracts/consumer/AgentConsumer.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IAgentConsumer} from "../../contracts/interfaces/IAgentConsumer.sol";

contract AgentConsumerTest is RouterFixture {
    function test_RouterIsTrusted() public view {
        assertEq(address(consumer.agentRouter()), address(router), "router");
    }

    function test_RevertWhen_CallbackNotFromRouter() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentConsumer.OnlyAgentRouter.selector, stranger));
        vm.prank(stranger);
        consumer.onAgentResponse(1, 0, "forged");
        assertEq(consumer.responses(), 0, "nothing recorded");
    }

    function test_RouterCallbackDispatchesByStatus() public {
        vm.prank(address(router));
        consumer.onAgentResponse(1, 0, "fine");
        assertEq(consumer.responses(), 1, "success path");
        vm.prank(address(router));
        consumer.onAgentResponse(2, 7, "bundle unavailable");
        assertEq(consumer.errors(), 1, "error path");
        assertEq(consumer.lastStatus(), 7, "status");
    }

    function test_ConfidentialRequestCarriesTheKeyEpoch() public {
        MockKeyRegistry keys = new MockKeyRegistry();
        keys.setUsable(2, true);
        router.setKeyRegistry(keys);
        vm.recordLogs();
        consumer.request(accountId, agentId, "ciphertext", 2, CALLBACK_GAS, MAX_FEE);
        IAgentRouter.AgentRequest memory req = _requestFromLogs();
        assertEq(req.keyEpoch, 2, "epoch");
        assertEq(req.inputHash, keccak256("ciphertext"), "ciphertext hash");
    }

    function test_EndToEndAnswerReachesTheConsumer() public {
        IAgentRouter.AgentRequest memory req = _request();
        router.fulfill(_fulfillment(req, "the answer"));
        assertEq(consumer.lastRequestId(), req.id, "id");
        assertEq(consumer.lastOutput(), bytes("the answer"), "output");
    }
}
