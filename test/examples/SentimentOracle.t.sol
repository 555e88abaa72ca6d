// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "../core/RouterFixture.sol";
import {SentimentOracle} from "../../contracts/examples/SentimentOracle.sol";
import {AgentConsumer} from "../../contracts/consumer/AgentConsumer.sol";
import {AgentStatus} from "../../contracts/core/AgentStatus.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {IAgentConsumer} from "../../contracts/interfaces/IAgentConsumer.sol";

contract SentimentOracleTest is RouterFixture {
    SentimentOracle internal oracle;

    function setUp() public override {
        super.setUp();
        oracle = new SentimentOracle(router, accountId, agentId, MAX_FEE, address(this));
        vm.prank(payer);
        router.addConsumer(accountId, address(oracle));
    }

    function _ask(string memory text) internal returns (IAgentRouter.AgentRequest memory) {
        vm.recordLogs();
        oracle.requestSentiment(text);
        return _requestFromLogs();
    }

    function test_LabelIsStored() public {
        vm.expectEmit();
        emit SentimentOracle.SentimentRequested(1, keccak256("what a great day"));
        IAgentRouter.AgentRequest memory req = _ask("what a great day");
        assertEq(req.callbackGasLimit, oracle.CALLBACK_GAS_LIMIT(), "gas");
        assertEq(req.maxFee, MAX_FEE, "max fee");
        assertEq(req.consumer, address(oracle), "consumer");
        (SentimentOracle.State state,, bytes32 textHash,) = oracle.queries(req.id);
        assertEq(uint256(state), uint256(SentimentOracle.State.Pending), "pending");
        assertEq(textHash, keccak256("what a great day"), "text hash");

        vm.expectEmit();
        emit SentimentOracle.SentimentAnswered(req.id, "positive");
        router.fulfill(_fulfillment(req, "positive"));
        (state,,,) = oracle.queries(req.id);
        assertEq(uint256(state), uint256(SentimentOracle.State.Answered), "answered");
        assertEq(oracle.labelOf(req.id), bytes("positive"), "label");
    }

    function test_ErrorIsRecorded() public {
        IAgentRouter.AgentRequest memory req = _ask("text");
        vm.expectEmit();
        emit SentimentOracle.SentimentFailed(req.id, AgentStatus.TIME_LIMIT, "time limit");
        router.fulfill(_fulfillment(req, "time limit", AgentStatus.TIME_LIMIT, new uint256[](0)));
        (SentimentOracle.State state, uint16 status,,) = oracle.queries(req.id);
        assertEq(uint256(state), uint256(SentimentOracle.State.Failed), "failed");
        assertEq(status, AgentStatus.TIME_LIMIT, "status");
        assertEq(oracle.labelOf(req.id).length, 0, "no label");
    }

    function test_SetMaxFee() public {
        vm.expectEmit();
        emit SentimentOracle.MaxFeeUpdated(1);
        oracle.setMaxFee(1);
        assertEq(oracle.maxFee(), 1, "stored");
        uint256 required = _expectedMinimumFee(AGENT_PRICE, oracle.CALLBACK_GAS_LIMIT(), router.feeConfig());
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.MaxFeeTooLow.selector, uint256(1), required));
        oracle.requestSentiment("text");

        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, stranger));
        vm.prank(stranger);
        oracle.setMaxFee(MAX_FEE);
    }

    function test_RevertWhen_CallbackNotFromRouter() public {
        vm.expectRevert(abi.encodeWithSelector(IAgentConsumer.OnlyAgentRouter.selector, stranger));
        vm.prank(stranger);
        oracle.onAgentResponse(1, 0, "positive");
    }
}
