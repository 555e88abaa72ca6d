// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "../core/RouterFixture.sol";
import {AgentAnswerBook} from "../../contracts/examples/AgentAnswerBook.sol";
import {AgentConsumer} from "../../contracts/consumer/AgentConsumer.sol";
import {AgentStatus} from "../../contracts/core/AgentStatus.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IAgentConsumer} from "../../contracts/interfaces/IAgentConsumer.sol";

contract AgentAnswerBookTest is RouterFixture {
    AgentAnswerBook internal book;
    address internal constant ASKER = address(0xA5C);

    function setUp() public override {
        super.setUp();
        book = new AgentAnswerBook(router, accountId, agentId, MAX_FEE);
        vm.prank(payer);
        router.addConsumer(accountId, address(book));
    }

    function _ask(string memory question) internal returns (IAgentRouter.AgentRequest memory) {
        vm.recordLogs();
        vm.prank(ASKER);
        book.ask(question);
        return _requestFromLogs();
    }

    function test_AnswerIsKeptPerAsker() public {
        vm.expectEmit();
        emit AgentAnswerBook.QuestionAsked(1, ASKER, "why is the sky blue?");
        IAgentRouter.AgentRequest memory req = _ask("why is the sky blue?");
        assertEq(req.inputHash, keccak256("why is the sky blue?"), "input");
        assertEq(req.callbackGasLimit, book.CALLBACK_GAS_LIMIT(), "gas");
        AgentAnswerBook.Entry memory entry = book.entryOf(req.id);
        assertEq(entry.asker, ASKER, "asker");
        assertFalse(entry.answered, "not yet");

        vm.expectEmit();
        emit AgentAnswerBook.QuestionAnswered(req.id, ASKER, 0);
        router.fulfill(_fulfillment(req, "Rayleigh scattering."));
        entry = book.entryOf(req.id);
        assertTrue(entry.answered, "answered");
        assertEq(entry.status, 0, "ok");
        assertEq(entry.answer, bytes("Rayleigh scattering."), "answer");
    }

    function test_ErrorIsRecorded() public {
        IAgentRouter.AgentRequest memory req = _ask("question");
        router.fulfill(_fulfillment(req, "llm unreachable", AgentStatus.HOST_CALL_DENIED, new uint256[](0)));
        AgentAnswerBook.Entry memory entry = book.entryOf(req.id);
        assertTrue(entry.answered, "closed");
        assertEq(entry.status, AgentStatus.HOST_CALL_DENIED, "status");
        assertEq(entry.answer, bytes("llm unreachable"), "message");
    }

    function test_LongAnswerFitsTheCallbackGas() public {
        IAgentRouter.AgentRequest memory req = _ask("write an essay");
        bytes memory essay = new bytes(1_000);
        vm.recordLogs();
        router.fulfill(_fulfillment(req, essay));
        (,, bool callbackSucceeded) = _settlementFromLogs();
        assertTrue(callbackSucceeded, "stored");
        assertEq(book.entryOf(req.id).answer.length, 1_000, "whole answer");
    }

    function test_RevertWhen_QuestionEmpty() public {
        vm.expectRevert(AgentAnswerBook.EmptyQuestion.selector);
        book.ask("");
    }

    function test_RevertWhen_QuestionTooLong() public {
        uint256 max = book.MAX_QUESTION_BYTES();
        vm.expectRevert(abi.encodeWithSelector(AgentAnswerBook.QuestionTooLong.selector, max + 1));
        book.ask(string(new bytes(max + 1)));
        book.ask(string(new bytes(max)));
    }

    function test_RevertWhen_CallbackNotFromRouter() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentConsumer.OnlyAgentRouter.selector, stranger));
        vm.prank(stranger);
        book.onAgentResponse(1, 0, "forged");
    }
}
