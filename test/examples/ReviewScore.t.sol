// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {AgentNetworkFixture} from "../../devkit/solidity/AgentNetworkFixture.sol";
import {AgentStatus} from "../../contracts/core/AgentStatus.sol";
import {ReviewScore} from "../../contracts/examples/ReviewScore.sol";

contract ReviewScoreTest is AgentNetworkFixture {
    ReviewScore internal consumer;

    function setUp() public override {
        super.setUp();
        consumer = new ReviewScore(router, accountId, _registerAgent(1 ether));
        _addConsumer(address(consumer));
    }

    function test_storesTheAnswer() public {
        uint256 requestId = consumer.ask("A great launch");
        _fulfill(requestId, abi.encode(int256(742), "positive"));
        (int256 score, string memory label) = consumer.reviews(requestId);
        assertEq(uint256(score), 742, "score");
        assertEq(keccak256(bytes(label)), keccak256("positive"), "label");
    }

    function test_anErrorLeavesNoReview() public {
        uint256 requestId = consumer.ask("A great launch");
        _fulfillWithError(requestId, AgentStatus.AGENT_ERROR, "bad input");
        (, string memory label) = consumer.reviews(requestId);
        assertEq(bytes(label).length, 0, "no label");
    }

    function test_aTimedOutRequestIsRefunded() public {
        uint256 reservedBefore = router.accountOf(accountId).reserved;
        uint256 requestId = consumer.ask("A great launch");
        _timeOut(requestId);
        assertEq(router.accountOf(accountId).reserved, reservedBefore, "reservation released");
        assertFalse(router.isPending(requestId), "settled");
    }
}
