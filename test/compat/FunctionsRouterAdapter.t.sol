// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {FunctionsRequest} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/libraries/FunctionsRequest.sol";
import {FunctionsResponse} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/libraries/FunctionsResponse.sol";
import {IFunctionsSubscriptions} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/interfaces/IFunctionsSubscriptions.sol";
import {FunctionsClient} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/FunctionsClient.sol";
import {FunctionsClientExample} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/example/FunctionsClientExample.sol";
import {AgentNetworkFixture} from "../../devkit/solidity/AgentNetworkFixture.sol";
import {Vm} from "../utils/Vm.sol";
import {AgentStatus} from "../../contracts/core/AgentStatus.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {BillingAccounts} from "../../contracts/core/BillingAccounts.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {FunctionsRouterAdapter} from "../../contracts/compat/FunctionsRouterAdapter.sol";
import {ChainlinkFunctionsConsumer} from "../../contracts/examples/ChainlinkFunctionsConsumer.sol";
import {
    GasBurningClient, GasMeteringClient, ReturnBombClient, RevertingClient, SubscriptionOwnerClient
} from "./FunctionsClientDoubles.sol";
import {IAgentConsumer} from "../../contracts/interfaces/IAgentConsumer.sol";
import {IBillingAccounts} from "../../contracts/interfaces/IBillingAccounts.sol";

contract FunctionsRouterAdapterTest is AgentNetworkFixture {
    using FunctionsRequest for FunctionsRequest.Request;

    bytes32 internal constant DON = "fun-phala-test-1";
    uint32 internal constant MAX_RESPONSE = 8_192;
    uint32 internal constant GAS = 200_000;
    uint96 internal constant AGENT_PRICE = 0.5 ether;
    address internal constant SUB_OWNER = address(0x5B0);
    address internal constant ATTACKER = address(0xBAD);

    FunctionsRouterAdapter internal adapter;
    ChainlinkFunctionsConsumer internal client;
    uint256 internal functionsAgent;
    uint64 internal subId;

    function setUp() public override {
        super.setUp();
        functionsAgent = _registerAgent(AGENT_PRICE);
        adapter = new FunctionsRouterAdapter(router, MAX_RESPONSE, address(this));
        adapter.setDonAgent(DON, functionsAgent);
        vm.prank(SUB_OWNER);
        subId = adapter.createSubscription();
        pha.transferAndCall(address(adapter), 100 ether, abi.encode(subId));
        client = new ChainlinkFunctionsConsumer(address(adapter));
        vm.prank(SUB_OWNER);
        adapter.addConsumer(subId, address(client));
    }

    // ---------------------------------------------------------------- helpers

    function _cbor(string memory source) internal pure returns (bytes memory) {
        FunctionsRequest.Request memory req;
        req.initializeRequestForInlineJavaScript(source);
        return req.encodeCBOR();
    }

    function _ask() internal returns (bytes32) {
        return client.sendRequest("return Functions.encodeUint256(7)", "", 0, 0, new string[](0), new bytes[](0), subId, GAS, DON);
    }

    /// @dev The functions runtime's successful output: 0x00 || response.
    function _answer(bytes32 requestId, bytes memory response) internal {
        _fulfill(uint256(requestId), abi.encodePacked(bytes1(0x00), response));
    }

    function _answerError(bytes32 requestId, string memory text) internal {
        _fulfill(uint256(requestId), abi.encodePacked(bytes1(0x01), text));
    }

    function _subscriptionOf(uint64 id) internal view returns (IFunctionsSubscriptions.Subscription memory) {
        return adapter.getSubscription(id);
    }

    /// @dev A GasMeteringClient added to the test's subscription.
    function _meteringClient() internal returns (GasMeteringClient metering) {
        metering = new GasMeteringClient(address(adapter));
        vm.prank(SUB_OWNER);
        adapter.addConsumer(subId, address(metering));
    }

    function _newSubscription(address owner, address consumer, uint256 funds) internal returns (uint64 id) {
        vm.prank(owner);
        id = adapter.createSubscriptionWithConsumer(consumer);
        pha.transferAndCall(address(adapter), funds, abi.encode(id));
    }

    // ---------------------------------------------------------------- answers and errors

    function test_anAnswerReachesTheUnmodifiedClient() public {
        bytes32 requestId = _ask();
        assertEq(uint256(requestId), router.requestCount(), "request id is the router's");
        assertTrue(adapter.requestStatus(requestId) == FunctionsRouterAdapter.RequestStatus.Pending, "pending");

        vm.expectEmit(address(client));
        emit FunctionsClient.RequestFulfilled(requestId);
        vm.expectEmit(address(adapter));
        emit FunctionsRouterAdapter.RequestProcessed(
            requestId, subId, 0, tx.origin, FunctionsResponse.FulfillResult.FULFILLED, abi.encode(uint256(7)), "", ""
        );
        _answer(requestId, abi.encode(uint256(7)));

        assertEq(client.s_lastResponse(), abi.encode(uint256(7)), "response");
        assertEq(client.s_lastError(), "", "no error");
        assertTrue(adapter.requestStatus(requestId) == FunctionsRouterAdapter.RequestStatus.None, "settled");
    }

    function test_theRuntimeReceivesTheClientAndTheCborUnchanged() public {
        string[] memory args = new string[](1);
        args[0] = "ETH";
        bytes[] memory bytesArgs = new bytes[](1);
        bytesArgs[0] = hex"c0ffee";
        client.sendRequest("return x", "", 0, 0, args, bytesArgs, subId, GAS, DON);
        FunctionsRequest.Request memory req;
        req.initializeRequestForInlineJavaScript("return x");
        req.setArgs(args);
        req.setBytesArgs(bytesArgs);
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool seen;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].topics[0] != IAgentRouter.AgentRequested.selector) continue;
            (IAgentRouter.AgentRequest memory request, bytes memory input) = abi.decode(logs[i].data, (IAgentRouter.AgentRequest, bytes));
            assertEq(input, abi.encodePacked(address(client), MAX_RESPONSE, req.encodeCBOR()), "client || maxResponseBytes || CBOR");
            assertEq(request.agentId, functionsAgent, "the DON's agent");
            assertEq(request.consumer, address(adapter), "the adapter is the router's consumer");
            assertEq(request.accountId, subId, "paid by the subscription's billing account");
            seen = true;
        }
        assertTrue(seen, "AgentRequested");
    }

    function test_userErrorsAndWorkerFailuresReachErr() public {
        bytes32 requestId = _ask();
        _answerError(requestId, "price feed down");
        assertEq(client.s_lastError(), "price feed down", "the source's error text");
        assertEq(client.s_lastResponse(), "", "no response");

        requestId = _ask();
        _fulfillWithError(uint256(requestId), AgentStatus.TIME_LIMIT, "wall time limit exceeded");
        assertEq(client.s_lastError(), "wall time limit exceeded", "the worker's failure");

        requestId = _ask();
        _fulfill(uint256(requestId), hex"07ff");
        assertEq(client.s_lastError(), "invalid result from the functions agent", "malformed result");
        requestId = _ask();
        _fulfill(uint256(requestId), "");
        assertEq(client.s_lastError(), "invalid result from the functions agent", "empty result");
    }

    function test_responsesBeyondChainlinks256Bytes_upToMaxResponseBytes() public {
        GasMeteringClient metering = _meteringClient();
        bytes memory big = new bytes(MAX_RESPONSE);
        big[MAX_RESPONSE - 1] = 0x2a;
        bytes32 bigRequest = metering.send(_cbor("x"), subId, GAS, DON);
        _answer(bigRequest, big);
        assertEq(metering.responseHash(), keccak256(big), "8 KiB response delivered");
        assertEq(metering.errorHash(), keccak256(""), "no error");

        bytes32 requestId = _ask();

        requestId = _ask();
        _answer(requestId, new bytes(MAX_RESPONSE + 1));
        assertEq(client.s_lastResponse(), "", "no response");
        assertEq(client.s_lastError(), "response >8192 bytes", "Chainlink's text for an oversized response");

        bytes32 longError = metering.send(_cbor("x"), subId, GAS, DON);
        _answerError(longError, string(new bytes(MAX_RESPONSE + 100)));
        assertEq(metering.errorHash(), keccak256(new bytes(MAX_RESPONSE)), "an error text is cut at maxResponseBytes");
    }

    function test_callbackGasBeyondChainlinks300k_upToTheRoutersLimit() public {
        GasMeteringClient metering = _meteringClient();
        uint32 limit = adapter.maxCallbackGasLimit();
        assertGe(limit, 1_800_000, "most of the router's 2,000,000");
        bytes32 requestId = metering.send(_cbor("x"), subId, limit, DON);
        _answer(requestId, "ok");
        // The client's callback starts with (almost) all the gas it asked for.
        assertGe(metering.gasAtCallback(), limit - 10_000, "client got its gas");
        assertEq(metering.responseHash(), keccak256("ok"), "delivered");

        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.GasLimitTooBig.selector, limit));
        metering.send(_cbor("x"), subId, limit + 1, DON);
        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.GasLimitTooBig.selector, limit));
        adapter.isValidCallbackGasLimit(subId, limit + 1);
    }

    function test_requestIdsAreUniqueAndTheRoutersOwn() public {
        bytes32 first = _ask();
        bytes32 second = _ask();
        assertTrue(first != second, "distinct");
        assertEq(uint256(second), uint256(first) + 1, "router ids");
        // Another adapter on the same router never issues the same id.
        FunctionsRouterAdapter other = new FunctionsRouterAdapter(router, MAX_RESPONSE, address(this));
        other.setDonAgent(DON, functionsAgent);
        uint64 otherSub = other.createSubscription();
        pha.transferAndCall(address(other), 10 ether, abi.encode(otherSub));
        ChainlinkFunctionsConsumer otherClient = new ChainlinkFunctionsConsumer(address(other));
        other.addConsumer(otherSub, address(otherClient));
        bytes32 third = otherClient.sendRequest("x", "", 0, 0, new string[](0), new bytes[](0), otherSub, GAS, DON);
        assertEq(uint256(third), uint256(second) + 1, "router ids are global");
    }

    function test_chainlinksOwnExampleClientWorks() public {
        // FunctionsClientExample, compiled unchanged from the package: 70,000 callback gas, keeps the
        // first 32 bytes of the response and of the error.
        FunctionsClientExample example = new FunctionsClientExample(address(adapter));
        vm.prank(SUB_OWNER);
        adapter.addConsumer(subId, address(example));
        example.sendRequest("return Functions.encodeString('hi')", "", new string[](0), subId, DON);
        _answer(example.s_lastRequestId(), "hi");
        assertEq(example.s_lastResponse(), bytes32("hi"), "response");
        assertEq(example.s_lastResponseLength(), 2, "response length");
        example.sendRequest("throw new Error('nope')", "", new string[](0), subId, DON);
        _answerError(example.s_lastRequestId(), "nope");
        assertEq(example.s_lastError(), bytes32("nope"), "error");
        assertEq(example.s_lastResponseLength(), 0, "no response");
    }

    // ---------------------------------------------------------------- request validation

    function test_RevertWhen_RequestIsMalformed() public {
        vm.startPrank(address(client));
        vm.expectRevert(FunctionsRouterAdapter.EmptyRequestData.selector);
        adapter.sendRequest(subId, "", 1, GAS, DON);
        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.UnsupportedRequestDataVersion.selector, 2));
        adapter.sendRequest(subId, _cbor("x"), 2, GAS, DON);
        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.RouteNotFound.selector, bytes32("fun-ethereum-mainnet-1")));
        adapter.sendRequest(subId, _cbor("x"), 1, GAS, "fun-ethereum-mainnet-1");
        vm.expectRevert(FunctionsRouterAdapter.InvalidSubscription.selector);
        adapter.sendRequest(subId + 100, _cbor("x"), 1, GAS, DON);
        vm.stopPrank();
    }

    function test_RevertWhen_InputExceedsTheRoutersLimit() public {
        uint256 maxInput = router.maxInputBytes();
        bytes memory huge = new bytes(maxInput);
        vm.prank(address(client));
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.InputTooLarge.selector, maxInput + 24, maxInput));
        adapter.sendRequest(subId, huge, 1, GAS, DON);
    }

    // ---------------------------------------------------------------- attacks on funds

    function test_attack_aClientCannotSpendAnotherSubscription() public {
        uint64 victim = _newSubscription(address(0xF1C7), address(0xC0FFEE), 50 ether);
        // The client is a consumer of subId, not of the victim's subscription.
        vm.expectRevert(FunctionsRouterAdapter.InvalidConsumer.selector);
        client.sendRequest("x", "", 0, 0, new string[](0), new bytes[](0), victim, GAS, DON);
        // Nor can anyone call the adapter directly for it.
        vm.prank(ATTACKER);
        vm.expectRevert(FunctionsRouterAdapter.InvalidConsumer.selector);
        adapter.sendRequest(victim, _cbor("x"), 1, GAS, DON);
        assertEq(_subscriptionOf(victim).balance, 50 ether, "victim's balance untouched");
        assertEq(_subscriptionOf(victim).blockedBalance, 0, "nothing reserved");
    }

    function test_attack_nobodyButTheOwnerManagesOrEmptiesASubscription() public {
        vm.startPrank(ATTACKER);
        vm.expectRevert(FunctionsRouterAdapter.MustBeSubscriptionOwner.selector);
        adapter.addConsumer(subId, ATTACKER);
        vm.expectRevert(FunctionsRouterAdapter.MustBeSubscriptionOwner.selector);
        adapter.removeConsumer(subId, address(client));
        vm.expectRevert(FunctionsRouterAdapter.MustBeSubscriptionOwner.selector);
        adapter.cancelSubscription(subId, ATTACKER);
        vm.expectRevert(FunctionsRouterAdapter.MustBeSubscriptionOwner.selector);
        adapter.proposeSubscriptionOwnerTransfer(subId, ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.MustBeProposedOwner.selector, address(0)));
        adapter.acceptSubscriptionOwnerTransfer(subId);
        // The billing account is the adapter's, so the router refuses its owner calls from anyone else.
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.NotAccountOwner.selector, subId, ATTACKER));
        router.withdraw(subId, ATTACKER, 1 ether);
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.NotAccountOwner.selector, subId, ATTACKER));
        router.addConsumer(subId, ATTACKER);
        vm.stopPrank();
        // The adapter's owner cannot either.
        vm.expectRevert(FunctionsRouterAdapter.MustBeSubscriptionOwner.selector);
        adapter.cancelSubscription(subId, address(this));
        assertEq(_subscriptionOf(subId).balance, 100 ether, "balance untouched");
    }

    function test_attack_theRouterAccountOnlyServesTheAdapter() public {
        // An attacker cannot make requests paid by a subscription's billing account at the router.
        vm.prank(ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.ConsumerNotAllowed.selector, subId, ATTACKER));
        router.request(subId, functionsAgent, "x", 0, GAS, 10 ether);
        // Nor forge the runtime's answer to the adapter.
        vm.prank(ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(IAgentConsumer.OnlyAgentRouter.selector, ATTACKER));
        adapter.onAgentResponse(1, 0, hex"00");
    }

    function test_aRequestReservesTheRoutersFeeAndSettlesIt() public {
        uint256 fee = adapter.estimateFee(DON, GAS);
        bytes32 requestId = _ask();
        IFunctionsSubscriptions.Subscription memory pending = _subscriptionOf(subId);
        assertEq(pending.blockedBalance + (100 ether - pending.balance), fee, "reserved or charged: the router's fee");
        _answer(requestId, "ok");
        IFunctionsSubscriptions.Subscription memory settled = _subscriptionOf(subId);
        assertEq(settled.blockedBalance, 0, "released");
        uint256 charged = 100 ether - settled.balance;
        assertGe(charged, AGENT_PRICE, "the agent's price is paid");
        assertLe(charged, fee, "never more than reserved");
    }

    // ---------------------------------------------------------------- attacks through the callback

    function test_attack_aRevertingClientCannotBlockSettlement() public {
        RevertingClient reverting = new RevertingClient(address(adapter));
        vm.prank(SUB_OWNER);
        adapter.addConsumer(subId, address(reverting));
        bytes32 requestId = reverting.send(_cbor("x"), subId, GAS, DON);
        vm.expectEmit(address(adapter));
        emit FunctionsRouterAdapter.RequestProcessed(
            requestId, subId, 0, tx.origin, FunctionsResponse.FulfillResult.USER_CALLBACK_ERROR, "ok", "", ""
        );
        _answer(requestId, "ok");
        (bool succeeded,,) = _lastSettlement();
        assertTrue(succeeded, "the adapter's own callback completed");
        assertFalse(router.isPending(uint256(requestId)), "settled");
        assertEq(_subscriptionOf(subId).blockedBalance, 0, "reservation released");
    }

    function test_attack_returnBombAndGasBurningClientsCannotBlockSettlement() public {
        ReturnBombClient bomb = new ReturnBombClient(address(adapter));
        GasBurningClient burner = new GasBurningClient(address(adapter));
        vm.startPrank(SUB_OWNER);
        adapter.addConsumer(subId, address(bomb));
        adapter.addConsumer(subId, address(burner));
        vm.stopPrank();
        bytes32 bombed = bomb.send(_cbor("x"), subId, 1_000_000, DON);
        _answer(bombed, "ok");
        (bool succeeded,,) = _lastSettlement();
        assertTrue(succeeded, "return bomb ignored");

        uint32 limit = adapter.maxCallbackGasLimit();
        bytes32 burnt = burner.send(_cbor("x"), subId, limit, DON);
        vm.expectEmit(address(adapter));
        emit FunctionsRouterAdapter.RequestProcessed(
            burnt, subId, 0, tx.origin, FunctionsResponse.FulfillResult.USER_CALLBACK_ERROR, new bytes(MAX_RESPONSE), "", ""
        );
        _answer(burnt, new bytes(MAX_RESPONSE));
        (succeeded,,) = _lastSettlement();
        assertTrue(succeeded, "the adapter completes after a client burnt all of the maximum gas");
    }

    function test_aClientMaySendItsNextRequestFromItsCallback() public {
        ChainingClient chaining = new ChainingClient(address(adapter), subId, DON);
        vm.prank(SUB_OWNER);
        adapter.addConsumer(subId, address(chaining));
        bytes32 first = chaining.start();
        _answer(first, "1");
        bytes32 second = chaining.lastRequestId();
        assertTrue(second != first && adapter.requestStatus(second) == FunctionsRouterAdapter.RequestStatus.Pending, "chained request pending");
        _answer(second, "2");
        assertEq(chaining.answers(), 2, "both answered");
    }

    // ---------------------------------------------------------------- attacks on settlement

    /// @dev The worker's signed answer to `requestId`, for a relayer to send however it likes.
    function _signed(uint256 requestId, bytes memory output) internal returns (IAgentRouter.Fulfillment memory) {
        IAgentRouter.AgentRequest memory req = _requestOf(requestId);
        uint256[] memory noSubAgents = new uint256[](0);
        uint96[] memory noPrices = new uint96[](0);
        bytes32 digest =
            router.fulfillmentDigest(req.id, keccak256(abi.encode(req)), keccak256(output), AgentStatus.OK, noSubAgents, noPrices, req.worker);
        (uint8 v, bytes32 r, bytes32 s) = vm.sign(FIXTURE_WORKER_KEY, digest);
        return IAgentRouter.Fulfillment(req, AgentStatus.OK, output, noSubAgents, noPrices, abi.encodePacked(r, s, v));
    }

    /// @dev The router's RequestFulfilled figures of the last settlement: (callback succeeded, total fee, remaining).
    function _lastSettlement() internal returns (bool succeeded, uint256 totalFee, uint256 remaining) {
        Vm.Log[] memory logs = vm.getRecordedLogs();
        bool found;
        for (uint256 i; i < logs.length; ++i) {
            if (logs[i].emitter == address(router) && logs[i].topics[0] == IAgentRouter.RequestFulfilled.selector) {
                (, succeeded,, totalFee, remaining) = abi.decode(logs[i].data, (uint16, bool, bytes32, uint256, uint256));
                found = true;
            }
        }
        assertTrue(found, "RequestFulfilled");
    }

    function test_attack_aSecondAnswerIsRefusedAndTheClientHearsOnce() public {
        GasMeteringClient metering = _meteringClient();
        bytes32 requestId = metering.send(_cbor("x"), subId, GAS, DON);
        IAgentRouter.Fulfillment memory first = _signed(uint256(requestId), hex"0001");
        IAgentRouter.Fulfillment memory second = _signed(uint256(requestId), hex"0002");
        vm.prank(FIXTURE_RELAYER);
        router.fulfill(first);
        uint256 balance = _subscriptionOf(subId).balance;

        // A replay of the same answer, or another signed answer to the same request.
        vm.prank(FIXTURE_RELAYER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, uint256(requestId)));
        router.fulfill(first);
        vm.prank(FIXTURE_RELAYER);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.RequestNotPending.selector, uint256(requestId)));
        router.fulfill(second);
        // The adapter forgets an answered request, so even a second delivery from the router reaches nobody.
        vm.prank(address(router));
        adapter.onAgentResponse(uint256(requestId), AgentStatus.OK, hex"0002");

        assertEq(metering.calls(), 1, "one fulfillRequest");
        assertEq(metering.responseHash(), keccak256(hex"01"), "the first answer");
        assertEq(_subscriptionOf(subId).balance, balance, "charged once");
    }

    /// @dev A relayer choosing the transaction's gas can make the fulfilment fail as a whole, never
    /// deliver with the client's callback starved: from the least gas that settles up, the client
    /// always starts with the gas it asked for.
    function test_attack_theRelayersGasLimitCannotStarveTheClient() public {
        GasMeteringClient metering = _meteringClient();
        uint32 clientGas = 500_000;
        bytes32 requestId = metering.send(_cbor("x"), subId, clientGas, DON);
        bytes memory call = abi.encodeCall(router.fulfill, (_signed(uint256(requestId), abi.encodePacked(bytes1(0x00), "ok"))));

        uint256 low;
        uint256 high = 3_000_000;
        (bool settles,) = _fulfilWithGas(metering, call, high);
        assertTrue(settles, "settles with enough gas");
        while (low + 1 < high) {
            uint256 mid = (low + high) / 2;
            (settles,) = _fulfilWithGas(metering, call, mid);
            if (settles) high = mid;
            else low = mid;
        }
        assertGe(high, clientGas + 1, "the least gas that settles covers the client's callback");
        for (uint256 gas = high > 300_000 ? high - 300_000 : 0; gas < high + 300_000; gas += 9_973) {
            (bool ok, uint256 gasAtCallback) = _fulfilWithGas(metering, call, gas);
            if (ok) assertGe(gasAtCallback, clientGas - 10_000, "settled only with the client's gas");
        }
    }

    function _fulfilWithGas(GasMeteringClient metering, bytes memory call, uint256 gas)
        internal
        returns (bool settled, uint256 gasAtCallback)
    {
        uint256 snapshot = vm.snapshotState();
        vm.prank(FIXTURE_RELAYER);
        (settled,) = address(router).call{gas: gas}(call);
        if (settled) {
            assertEq(metering.calls(), 1, "a settled request reached its client");
            gasAtCallback = metering.gasAtCallback();
        }
        vm.revertToState(snapshot);
    }

    function test_attack_aSubscriptionOwnerCannotCloseItFromTheCallbackToDodgeTheFee() public {
        SubscriptionOwnerClient owning = new SubscriptionOwnerClient(adapter);
        uint64 ownSub = owning.open();
        pha.transferAndCall(address(adapter), 10 ether, abi.encode(ownSub));
        bytes32 requestId = owning.send(_cbor("x"), ownSub, GAS, DON);
        uint256 reserved = _subscriptionOf(ownSub).blockedBalance;
        uint256 capacityFee = 10 ether - _subscriptionOf(ownSub).balance; // charged at request
        _answer(requestId, "ok");

        assertEq(owning.refusal(), FunctionsRouterAdapter.CannotRemoveWithPendingRequests.selector, "cancel refused mid-settlement");
        (, uint256 totalFee,) = _lastSettlement();
        IFunctionsSubscriptions.Subscription memory sub = _subscriptionOf(ownSub);
        assertEq(sub.balance, 10 ether - capacityFee - totalFee, "the fee was paid from the subscription");
        assertGe(totalFee, AGENT_PRICE, "including the agent's price");
        assertLe(totalFee, reserved, "within the reservation");
        assertEq(pha.balanceOf(address(owning)), 0, "nothing paid out to the owner");
    }

    /// @dev The callback gas a client picks changes what is reserved, never whether the agent, the
    /// worker and the relayer are paid: no gas at all still pays the agent, and a client burning the
    /// largest callback gas with the largest response leaves the relayer fully reimbursed.
    function test_attack_callbackGasCannotSkipOrShortTheFees() public {
        bytes32 noGas = client.sendRequest("x", "", 0, 0, new string[](0), new bytes[](0), subId, 0, DON);
        uint256 before = _subscriptionOf(subId).balance;
        _answer(noGas, "ok");
        (bool succeeded, uint256 totalFee, uint256 remaining) = _lastSettlement();
        assertTrue(succeeded, "the adapter's callback completed");
        assertGe(totalFee, AGENT_PRICE, "the agent is paid");
        assertEq(before - _subscriptionOf(subId).balance, totalFee, "from the subscription");
        assertGe(remaining, 1, "the relayer's gas was covered without exhausting the reservation");

        GasBurningClient burner = new GasBurningClient(address(adapter));
        vm.prank(SUB_OWNER);
        adapter.addConsumer(subId, address(burner));
        bytes32 burnt = burner.send(_cbor("x"), subId, adapter.maxCallbackGasLimit(), DON);
        uint256 reserved = _subscriptionOf(subId).blockedBalance;
        uint256 relayerBefore = router.earnings(FIXTURE_RELAYER);
        before = _subscriptionOf(subId).balance;
        _answer(burnt, new bytes(MAX_RESPONSE));
        (succeeded, totalFee, remaining) = _lastSettlement();
        assertTrue(succeeded, "the adapter's callback completed");
        assertEq(before - _subscriptionOf(subId).balance, totalFee, "charged to the subscription");
        assertEq(totalFee + remaining, reserved, "refund and charge add up to the reservation");
        // Had the reservation run out, the relayer's fee would have been cut to what was left.
        assertGe(remaining, 1, "the reservation covered the relayer's gas for the whole callback");
        assertGe(router.earnings(FIXTURE_RELAYER) - relayerBefore, uint256(adapter.maxCallbackGasLimit()) * 1 gwei, "relayer reimbursed for the burnt gas");
    }

    /// @dev The gas the router gives the adapter covers the adapter's worst case: a client burning all
    /// of the largest callback gas, with the largest response or error text. Binary search of the least
    /// gas with which onAgentResponse still delivers, against the budget sendRequest reserves.
    function test_theCallbackBudgetCoversTheWorstCase() public {
        _checkBudget(MAX_RESPONSE, MAX_RESPONSE, 0x00, 100_000);
        _checkBudget(MAX_RESPONSE, 0, 0x00, 100_000);
        _checkBudget(MAX_RESPONSE, MAX_RESPONSE + 1, 0x00, 100_000);
        _checkBudget(65_535, 65_535, 0x00, 1_000_000);
        _checkBudget(65_535, 65_535, 0x01, 1_000_000);
    }

    function _checkBudget(uint32 maxResponse, uint256 length, bytes1 tag, uint32 clientGas) internal {
        FunctionsRouterAdapter sized = new FunctionsRouterAdapter(router, maxResponse, address(this));
        sized.setDonAgent(DON, functionsAgent);
        uint64 sub = sized.createSubscription();
        pha.transferAndCall(address(sized), 100 ether, abi.encode(sub));
        GasBurningClient burner = new GasBurningClient(address(sized));
        sized.addConsumer(sub, address(burner));
        bytes32 id = burner.send(_cbor("x"), sub, clientGas, DON);
        bytes memory call = abi.encodeCall(sized.onAgentResponse, (uint256(id), 0, abi.encodePacked(tag, new bytes(length))));
        uint256 budget = uint256(clientGas) + clientGas / 63 + 1 + sized.CALLBACK_OVERHEAD_GAS() + 5_000
            + uint256(maxResponse) * sized.GAS_PER_RESPONSE_BYTE();
        uint256 low;
        uint256 high = budget;
        assertTrue(_delivers(sized, id, call, high), "delivers with the budget");
        while (low + 1 < high) {
            uint256 mid = (low + high) / 2;
            if (_delivers(sized, id, call, mid)) high = mid;
            else low = mid;
        }
        assertLe(high, budget, "budget covers the worst case");
        // At the largest size, not wildly more than needed: the reservation (refunded) and the cap
        // on the client's gas follow from it.
        if (length == maxResponse) assertLe(budget - clientGas, 2 * (high - clientGas), "within 2x of the adapter's real need");
    }

    function _delivers(FunctionsRouterAdapter sized, bytes32 id, bytes memory call, uint256 gas) internal returns (bool delivered) {
        uint256 snapshot = vm.snapshotState();
        vm.prank(address(router));
        (bool ok,) = address(sized).call{gas: gas}(call);
        delivered = ok && sized.requestStatus(id) == FunctionsRouterAdapter.RequestStatus.None;
        vm.revertToState(snapshot);
    }

    // ---------------------------------------------------------------- timeouts

    function test_aTimedOutRequestIsRefundedAndVisible() public {
        bytes32 requestId = _ask();
        assertGe(_subscriptionOf(subId).blockedBalance, 1, "reserved");
        uint256 capacityFee = 100 ether - _subscriptionOf(subId).balance; // charged at request, kept
        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.RequestNotTimedOut.selector, requestId));
        adapter.timeoutRequests(_ids(requestId));

        _timeOut(uint256(requestId));
        assertTrue(adapter.requestStatus(requestId) == FunctionsRouterAdapter.RequestStatus.TimedOut, "visible as timed out");
        IFunctionsSubscriptions.Subscription memory sub = _subscriptionOf(subId);
        assertEq(sub.blockedBalance, 0, "reservation released");
        assertEq(sub.balance, 100 ether - capacityFee, "refunded in full but the capacity fee");

        vm.expectEmit(address(adapter));
        emit FunctionsRouterAdapter.RequestTimedOut(requestId);
        vm.prank(ATTACKER);
        adapter.timeoutRequests(_ids(requestId));
        assertTrue(adapter.requestStatus(requestId) == FunctionsRouterAdapter.RequestStatus.None, "recorded once");
        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.RequestNotTimedOut.selector, requestId));
        adapter.timeoutRequests(_ids(requestId));
    }

    function test_RevertWhen_SomeoneOtherThanTheRouterSendsATimeoutNotice() public {
        bytes32 requestId = _ask();
        vm.prank(ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(IAgentConsumer.OnlyAgentRouter.selector, ATTACKER));
        adapter.onAgentTimeout(uint256(requestId));
        assertTrue(adapter.requestStatus(requestId) == FunctionsRouterAdapter.RequestStatus.Pending, "still pending");
    }

    function test_RevertWhen_TimingOutAnAnsweredRequest() public {
        bytes32 requestId = _ask();
        _answer(requestId, "ok");
        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.RequestNotTimedOut.selector, requestId));
        adapter.timeoutRequests(_ids(requestId));
    }

    function _ids(bytes32 id) internal pure returns (bytes32[] memory ids) {
        ids = new bytes32[](1);
        ids[0] = id;
    }

    // ---------------------------------------------------------------- subscriptions

    function test_subscriptionsAreBillingAccountsTheAdapterHolds() public view {
        IFunctionsSubscriptions.Subscription memory sub = _subscriptionOf(subId);
        assertEq(sub.owner, SUB_OWNER, "owner");
        assertEq(sub.balance, 100 ether, "funded with transferAndCall");
        assertEq(sub.consumers.length, 1, "one consumer");
        assertEq(sub.consumers[0], address(client), "the client");
        assertEq(router.accountOwner(subId), address(adapter), "the adapter holds the billing account");
        assertTrue(router.isConsumer(subId, address(adapter)), "and spends it");
        assertEq(adapter.getSubscriptionCount(), 1, "count");
    }

    function test_anyoneFundsWithTransferAndCall_onlyWithPhaAndAValidSubscription() public {
        pha.transfer(ATTACKER, 5 ether);
        vm.expectEmit(address(adapter));
        emit FunctionsRouterAdapter.SubscriptionFunded(subId, 100 ether, 105 ether);
        vm.prank(ATTACKER);
        pha.transferAndCall(address(adapter), 5 ether, abi.encode(subId));
        assertEq(_subscriptionOf(subId).balance, 105 ether, "funded");
        assertEq(pha.balanceOf(address(adapter)), 0, "nothing stays in the adapter");

        vm.expectRevert(FunctionsRouterAdapter.InvalidSubscription.selector);
        pha.transferAndCall(address(adapter), 1 ether, abi.encode(uint64(999)));
        vm.expectRevert(FunctionsRouterAdapter.InvalidCalldata.selector);
        pha.transferAndCall(address(adapter), 1 ether, abi.encodePacked(subId));
        vm.prank(ATTACKER);
        vm.expectRevert(FunctionsRouterAdapter.OnlyCallableFromPha.selector);
        adapter.onTransferReceived(ATTACKER, ATTACKER, 1_000 ether, abi.encode(subId));
        assertEq(_subscriptionOf(subId).balance, 105 ether, "a forged hook credits nothing");
    }

    function test_consumersAddRemoveAndTheLimit() public {
        vm.startPrank(SUB_OWNER);
        adapter.addConsumer(subId, address(client)); // idempotent
        assertEq(_subscriptionOf(subId).consumers.length, 1, "no duplicate");
        adapter.removeConsumer(subId, address(client));
        vm.expectRevert(FunctionsRouterAdapter.InvalidConsumer.selector);
        adapter.removeConsumer(subId, address(client));
        vm.stopPrank();
        vm.expectRevert(FunctionsRouterAdapter.InvalidConsumer.selector);
        _ask();

        vm.startPrank(SUB_OWNER);
        for (uint160 i = 1; i <= adapter.MAX_CONSUMERS(); ++i) adapter.addConsumer(subId, address(i));
        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.TooManyConsumers.selector, adapter.MAX_CONSUMERS()));
        adapter.addConsumer(subId, address(client));
        vm.stopPrank();
    }

    function test_aRemovedConsumersPendingRequestIsStillAnswered() public {
        bytes32 requestId = _ask();
        vm.prank(SUB_OWNER);
        adapter.removeConsumer(subId, address(client));
        _answer(requestId, "late");
        assertEq(client.s_lastResponse(), "late", "delivered");
    }

    function test_ownershipTransferIsTwoStep() public {
        address next = address(0x2E7);
        vm.prank(SUB_OWNER);
        adapter.proposeSubscriptionOwnerTransfer(subId, next);
        assertEq(_subscriptionOf(subId).proposedOwner, next, "proposed");
        vm.prank(next);
        adapter.acceptSubscriptionOwnerTransfer(subId);
        assertEq(_subscriptionOf(subId).owner, next, "transferred");
        vm.prank(SUB_OWNER);
        vm.expectRevert(FunctionsRouterAdapter.MustBeSubscriptionOwner.selector);
        adapter.addConsumer(subId, SUB_OWNER);
    }

    function test_cancelPaysOutAndHandsTheAccountBack_onlyWithNothingPending() public {
        bytes32 requestId = _ask();
        vm.prank(SUB_OWNER);
        vm.expectRevert(FunctionsRouterAdapter.CannotRemoveWithPendingRequests.selector);
        adapter.cancelSubscription(subId, SUB_OWNER);
        _answer(requestId, "ok");

        uint256 balance = _subscriptionOf(subId).balance;
        vm.prank(SUB_OWNER);
        adapter.cancelSubscription(subId, address(0xCA5));
        assertEq(pha.balanceOf(address(0xCA5)), balance, "balance paid out");
        vm.expectRevert(FunctionsRouterAdapter.InvalidSubscription.selector);
        _subscriptionOf(subId);
        vm.expectRevert(FunctionsRouterAdapter.InvalidSubscription.selector);
        _ask();
        vm.expectRevert(FunctionsRouterAdapter.InvalidSubscription.selector);
        pha.transferAndCall(address(adapter), 1 ether, abi.encode(subId));
        assertFalse(adapter.isConsumer(subId, address(client)), "consumers cleared");
        assertFalse(router.isConsumer(subId, address(adapter)), "the adapter no longer spends the account");

        // PHA sent to the billing account afterwards is not lost: its former owner takes the account.
        pha.approve(address(router), 1 ether);
        router.fund(subId, 1 ether);
        vm.startPrank(SUB_OWNER);
        router.acceptAccountOwnership(subId);
        router.withdraw(subId, SUB_OWNER, 1 ether);
        vm.stopPrank();
        assertEq(pha.balanceOf(SUB_OWNER), 1 ether, "recovered");
    }

    // ---------------------------------------------------------------- governance

    function test_onlyTheOwnerRoutesDonIdsToExistingAgents() public {
        vm.prank(ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, ATTACKER));
        adapter.setDonAgent("fun-evil-1", functionsAgent);
        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.UnknownAgent.selector, 999));
        adapter.setDonAgent("fun-x-1", 999);
        adapter.setDonAgent(DON, 0);
        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.RouteNotFound.selector, DON));
        _ask();
    }

    function test_recoverFundsTakesOnlyStrayPha() public {
        pha.transfer(address(adapter), 3 ether);
        vm.prank(ATTACKER);
        vm.expectRevert(abi.encodeWithSelector(Ownable.OwnableUnauthorizedAccount.selector, ATTACKER));
        adapter.recoverFunds(ATTACKER);
        adapter.recoverFunds(address(0xAB));
        assertEq(pha.balanceOf(address(0xAB)), 3 ether, "stray PHA recovered");
        assertEq(_subscriptionOf(subId).balance, 100 ether, "subscriptions untouched");
    }

    function test_RevertWhen_MaxResponseBytesIsOutOfRange() public {
        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.InvalidMaxResponseBytes.selector, 0));
        new FunctionsRouterAdapter(router, 0, address(this));
        vm.expectRevert(abi.encodeWithSelector(FunctionsRouterAdapter.InvalidMaxResponseBytes.selector, 65_536));
        new FunctionsRouterAdapter(router, 65_536, address(this));
    }
}

/// @dev Sends its next request from inside its callback, as some Chainlink clients do.
contract ChainingClient is FunctionsClient {
    using FunctionsRequest for FunctionsRequest.Request;

    uint64 internal immutable subscriptionId;
    bytes32 internal immutable donId;
    bytes32 public lastRequestId;
    uint256 public answers;

    constructor(address router, uint64 subscriptionId_, bytes32 donId_) FunctionsClient(router) {
        subscriptionId = subscriptionId_;
        donId = donId_;
    }

    function start() external returns (bytes32) {
        return _next();
    }

    function fulfillRequest(bytes32, bytes memory, bytes memory) internal override {
        if (++answers == 1) _next();
    }

    function _next() internal returns (bytes32) {
        FunctionsRequest.Request memory req;
        req.initializeRequestForInlineJavaScript("return 1");
        lastRequestId = _sendRequest(req.encodeCBOR(), subscriptionId, 300_000, donId);
        return lastRequestId;
    }
}
