// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice Sub-agent owner turned attacker (issue 10, item 5): it sees the worker's answer listing its
/// agent in the mempool and raises the agent's price before the answer lands, to take the relayer's
/// gas money and the requester's refund. Callees are paid at most the price the worker signed.
contract RouterAttacksSubAgentsTest is RouterFixture {
    bytes internal constant OUTPUT = "positive";
    address internal constant SUB_OWNER = address(0x5B0);
    uint96 internal constant SUB_PRICE = 1 ether;

    uint256 internal sub;

    function setUp() public override {
        super.setUp();
        sub = _registerAgent(SUB_OWNER, SUB_PRICE, new bytes32[](0));
    }

    /// @dev On the old code the callee took min(100 PHA, what was left): the relayer got nothing and
    /// the requester no refund.
    function test_RaisingThePriceBeforeSettlementTakesNothingExtra() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory answer = _fulfillment(req, OUTPUT, 0, _ids(sub)); // signed at 1 PHA
        vm.prank(SUB_OWNER);
        agents.setPrice(sub, 100 ether); // front-runs the relayer

        vm.recordLogs();
        vm.prank(relayer);
        router.fulfill(answer);
        (uint256 totalFee, uint256 refund,) = _settlementFromLogs();

        assertEq(router.earnings(SUB_OWNER), SUB_PRICE, "paid the signed price");
        assertGe(router.earnings(relayer), 1, "relayer still reimbursed");
        assertEq(
            totalFee,
            AGENT_PRICE + WORKER_FEE + router.protocolFees() + SUB_PRICE + router.earnings(relayer),
            "nothing else charged"
        );
        assertEq(refund, MAX_FEE - totalFee, "the rest refunded");
    }

    function test_LoweredPriceIsWhatIsPaid() public {
        IAgentRouter.AgentRequest memory req = _request();
        IAgentRouter.Fulfillment memory answer = _fulfillment(req, OUTPUT, 0, _ids(sub));
        vm.prank(SUB_OWNER);
        agents.setPrice(sub, 0.25 ether);
        router.fulfill(answer);
        assertEq(router.earnings(SUB_OWNER), 0.25 ether, "the lower current price");
    }

    function test_EachCallIsCappedByItsOwnSignedPrice() public {
        IAgentRouter.AgentRequest memory req = _request();
        uint96[] memory prices = new uint96[](2);
        prices[0] = 0.5 ether; // called before the owner raised it to 1 PHA
        prices[1] = SUB_PRICE;
        IAgentRouter.Fulfillment memory answer = _fulfillment(req, OUTPUT, 0, _ids(sub, sub), prices);
        vm.prank(SUB_OWNER);
        agents.setPrice(sub, 3 ether);
        router.fulfill(answer);
        assertEq(router.earnings(SUB_OWNER), 1.5 ether, "0.5 + 1 PHA");
    }
}
