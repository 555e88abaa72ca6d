// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {IERC1363} from "@openzeppelin/contracts/interfaces/IERC1363.sol";
import {IERC1363Receiver} from "@openzeppelin/contracts/interfaces/IERC1363Receiver.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {Strings} from "@openzeppelin/contracts/utils/Strings.sol";
import {IFunctionsClient} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/interfaces/IFunctionsClient.sol";
import {IFunctionsSubscriptions} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/interfaces/IFunctionsSubscriptions.sol";
import {FunctionsResponse} from "@chainlink/contracts/src/v0.8/functions/v1_0_0/libraries/FunctionsResponse.sol";
import {AgentRouter} from "../core/AgentRouter.sol";
import {AgentRouterState} from "../core/AgentRouterState.sol";
import {AgentStatus} from "../core/AgentStatus.sol";
import {BillingAccounts} from "../core/BillingAccounts.sol";
import {ExactGasCall} from "../core/ExactGasCall.sol";
import {IAgentConsumer} from "../interfaces/IAgentConsumer.sol";

/// @title FunctionsRouterAdapter
/// @notice The router surface a Chainlink Functions client calls, served by the agent network: a
/// contract built on Chainlink's `FunctionsClient` works unchanged when constructed with this
/// contract's address. `sendRequest` forwards the CBOR request to the agent its DON id names (the
/// "functions" runtime agent, agents/functions) through `AgentRouter`, and the answer comes back
/// as `handleOracleFulfillment(requestId, response, err)` with the gas the client asked for.
/// The router request's input is `client (20 bytes) || maxResponseBytes (uint32, big-endian) ||
/// CBOR`: the runtime answers an oversized response with an error itself, so the relayer never
/// carries more than {maxResponseBytes} of response, whose calldata the request reserves.
/// @dev Subscriptions are the router's billing accounts: `createSubscription` opens one owned by
/// this adapter, and its id is the subscription id. Only this adapter spends it, only for the
/// clients the subscription owner added, and only the owner takes the money out (by cancelling).
/// The adapter is an ordinary consumer of the router: it pays the router's fee from the
/// subscription's account and charges nothing itself.
contract FunctionsRouterAdapter is IAgentConsumer, IERC1363Receiver, Ownable2Step {
    using SafeERC20 for IERC20;

    /// @notice Where a request stands, as seen from here.
    enum RequestStatus {
        None, // never sent through this adapter, or already answered
        Pending, // awaiting its answer from the router
        TimedOut // the router settled it without an answer: timed out, its fee refunded to the subscription
    }

    struct Subscription {
        address owner;
        address proposedOwner;
        address[] consumers;
    }

    /// @dev One slot: what the answer needs to reach its client.
    struct PendingRequest {
        address client;
        uint64 subscriptionId;
        uint32 callbackGasLimit;
    }

    /// @notice FunctionsRequest.REQUEST_DATA_VERSION, the only CBOR layout the runtime reads.
    uint16 public constant REQUEST_DATA_VERSION = 1;
    /// @notice Clients one subscription may list (bounds the loops over them), as Chainlink's default.
    uint16 public constant MAX_CONSUMERS = 100;
    /// @notice Largest `maxResponseBytes`: the worker's default output limit (one byte is the result tag).
    uint32 public constant MAX_RESPONSE_BYTES_LIMIT = 65_535;
    /// @notice Gas of {onAgentResponse} outside the client's callback and the per-byte part, with margin.
    uint256 public constant CALLBACK_OVERHEAD_GAS = 15_000;
    /// @notice Gas per byte of response or error: the RequestProcessed log (8) and its memory copies.
    uint256 public constant GAS_PER_RESPONSE_BYTE = 11;
    /// @notice First byte of the functions runtime's output: the rest is the response...
    bytes1 public constant RESULT_RESPONSE = 0x00;
    /// @notice ...or the error text.
    bytes1 public constant RESULT_ERROR = 0x01;

    AgentRouter public immutable router;
    IERC20 public immutable pha;
    /// @notice Longest response (and error text) delivered; a longer response becomes an error.
    uint32 public immutable maxResponseBytes;
    /// @dev The router's calldata reimbursement rate (a constant there), read once.
    /// @dev The most one calldata byte costs (EIP-2028); the router bills the exact cost, so
    /// reserving this much per response byte covers any answer.
    uint256 private constant MAX_CALLDATA_GAS_PER_BYTE = 16;

    /// @notice Agent that runs the source of requests for a DON id (0: no such DON).
    mapping(bytes32 donId => uint256 agentId) public donAgent;
    uint64 private _subscriptionCount;
    mapping(uint64 subscriptionId => Subscription) private _subscriptions;
    mapping(uint64 subscriptionId => mapping(address client => bool)) private _isConsumer;
    mapping(uint256 routerRequestId => PendingRequest) private _pending;

    // Chainlink FunctionsRouter / FunctionsSubscriptions events, same signatures.
    event SubscriptionCreated(uint64 indexed subscriptionId, address owner);
    event SubscriptionFunded(uint64 indexed subscriptionId, uint256 oldBalance, uint256 newBalance);
    event SubscriptionConsumerAdded(uint64 indexed subscriptionId, address consumer);
    event SubscriptionConsumerRemoved(uint64 indexed subscriptionId, address consumer);
    event SubscriptionCanceled(uint64 indexed subscriptionId, address fundsRecipient, uint256 fundsAmount);
    event SubscriptionOwnerTransferRequested(uint64 indexed subscriptionId, address from, address to);
    event SubscriptionOwnerTransferred(uint64 indexed subscriptionId, address from, address to);
    event RequestProcessed(
        bytes32 indexed requestId,
        uint64 indexed subscriptionId,
        uint96 totalCostJuels,
        address transmitter,
        FunctionsResponse.FulfillResult resultCode,
        bytes response,
        bytes err,
        bytes callbackReturnData
    );
    event RequestTimedOut(bytes32 indexed requestId);
    // This adapter's own. A request has no event here: the router's AgentRequested (request id,
    // agent, subscription as accountId, this adapter as consumer, input) says it all.
    event DonAgentSet(bytes32 indexed donId, uint256 indexed agentId);
    event FundsRecovered(address to, uint256 amount);

    // Chainlink's error names where the situation is Chainlink's.
    error InvalidSubscription();
    error InvalidConsumer();
    error MustBeSubscriptionOwner();
    error MustBeProposedOwner(address proposedOwner);
    error TooManyConsumers(uint16 maximumConsumers);
    error CannotRemoveWithPendingRequests();
    error InvalidCalldata();
    error EmptyRequestData();
    error GasLimitTooBig(uint32 limit);
    error RouteNotFound(bytes32 id);
    error UnsupportedRequestDataVersion(uint16 dataVersion);
    error OnlyCallableFromPha();
    error UnknownAgent(uint256 agentId);
    error RequestNotTimedOut(bytes32 requestId);
    error InvalidMaxResponseBytes(uint32 maxResponseBytes);

    constructor(AgentRouter router_, uint32 maxResponseBytes_, address initialOwner) Ownable(initialOwner) {
        if (maxResponseBytes_ == 0 || maxResponseBytes_ > MAX_RESPONSE_BYTES_LIMIT) revert InvalidMaxResponseBytes(maxResponseBytes_);
        router = router_;
        pha = router_.pha();
        maxResponseBytes = maxResponseBytes_;
    }

    // ---------------------------------------------------------------- requests (IFunctionsRouter)

    /// @notice Chainlink `IFunctionsRouter.sendRequest`: runs `data` (FunctionsRequest CBOR) on the
    /// agent of `donId`, paid by `subscriptionId`, which must list the caller as a consumer.
    /// @return requestId bytes32(the router's request id): unique, as the router never reuses one.
    /// @param subscriptionId The subscription that pays (a router billing account).
    /// @param data The request, FunctionsRequest-encoded CBOR.
    /// @param dataVersion The encoding version; only REQUEST_DATA_VERSION is accepted.
    /// @param callbackGasLimit Gas for the client's `handleOracleFulfillment`.
    /// @param donId The route, mapped to an agent by {setDonAgent}.
    function sendRequest(
        uint64 subscriptionId,
        bytes calldata data,
        uint16 dataVersion,
        uint32 callbackGasLimit,
        bytes32 donId
    ) external returns (bytes32 requestId) {
        // Only an existing subscription lists consumers (cancelling clears them): one read checks both.
        if (!_isConsumer[subscriptionId][msg.sender]) {
            _requireSubscription(subscriptionId);
            revert InvalidConsumer();
        }
        if (data.length == 0) revert EmptyRequestData();
        if (dataVersion != REQUEST_DATA_VERSION) revert UnsupportedRequestDataVersion(dataVersion);
        uint256 agentId = donAgent[donId];
        if (agentId == 0) revert RouteNotFound(donId);
        // The runtime trusts the client address and the limit because only this adapter writes them.
        uint256 routerRequestId =
            _request(subscriptionId, agentId, callbackGasLimit, abi.encodePacked(msg.sender, maxResponseBytes, data));
        _pending[routerRequestId] = PendingRequest(msg.sender, subscriptionId, callbackGasLimit);
        requestId = bytes32(routerRequestId);
    }

    /// @notice Chainlink `IFunctionsRouter.isValidCallbackGasLimit`: reverts {GasLimitTooBig} above
    /// {maxCallbackGasLimit}.
    /// @param callbackGasLimit The gas a request would give its client.
    function isValidCallbackGasLimit(uint64, uint32 callbackGasLimit) external view {
        _routerCallbackGas(callbackGasLimit, router.feeConfig().maxCallbackGasLimit);
    }

    /// @notice The largest `callbackGasLimit` a request may give its client: the router's maximum
    /// less what this adapter needs around the callback.
    /// @return Gas.
    function maxCallbackGasLimit() public view returns (uint32) {
        uint256 routerMax = router.feeConfig().maxCallbackGasLimit;
        uint256 fixedGas = _adapterGas();
        if (routerMax <= fixedGas + 1) return 0;
        // The largest g with g + g / 63 <= available (see _routerCallbackGas): for g = 63q + r
        // (r < 63) the left side is 64q + r, so q = available / 64 and r = available % 64, at most 62.
        uint256 available = routerMax - fixedGas - 1;
        uint256 rest = available % 64;
        return uint32(63 * (available / 64) + (rest < 63 ? rest : 62));
    }

    /// @notice PHA a request to `donId` with `callbackGasLimit` reserves from its subscription (what
    /// is not used is refunded at settlement).
    /// @param donId The route.
    /// @param callbackGasLimit The gas a request would give its client.
    /// @return PHA.
    function estimateFee(bytes32 donId, uint32 callbackGasLimit) external view returns (uint256) {
        uint256 agentId = donAgent[donId];
        if (agentId == 0) revert RouteNotFound(donId);
        AgentRouterState.Config memory config = router.feeConfig();
        return _fee(agentId, _routerCallbackGas(callbackGasLimit, config.maxCallbackGasLimit), config.phaPerGas);
    }

    /// @inheritdoc IAgentConsumer
    /// @dev Never reverts once the request is known: a revert here would undo the delivery while the
    /// router settles the request anyway. The gas is bounded by {_routerCallbackGas}'s budget.
    function onAgentResponse(uint256 routerRequestId, uint16 status, bytes calldata output) external {
        if (msg.sender != address(router)) revert OnlyAgentRouter(msg.sender);
        PendingRequest memory pending = _pending[routerRequestId];
        if (pending.client == address(0)) return;
        delete _pending[routerRequestId];

        bytes32 requestId = bytes32(routerRequestId);
        (bytes memory response, bytes memory err) = _result(status, output);
        // Exactly the client's gas, its return data ignored: a reverting or gas-hungry client
        // cannot take the settlement down with it.
        // solhint-disable-next-line avoid-low-level-calls -- ExactGasCall.call is our library, not address.call
        bool delivered = ExactGasCall.call(
            pending.client,
            pending.callbackGasLimit,
            abi.encodeCall(IFunctionsClient.handleOracleFulfillment, (requestId, response, err))
        );
        FunctionsResponse.FulfillResult result =
            delivered ? FunctionsResponse.FulfillResult.FULFILLED : FunctionsResponse.FulfillResult.USER_CALLBACK_ERROR;
        // The fee is settled by the router after this call (its RequestFulfilled event); the
        // transmitter is the relayer that sent the fulfilment (for information, never trusted).
        // solhint-disable-next-line avoid-tx-origin
        emit RequestProcessed(requestId, pending.subscriptionId, 0, tx.origin, result, response, err, "");
    }

    /// @inheritdoc IAgentConsumer
    /// @dev Deliberately records nothing: a timed-out request stays visible as `TimedOut` until
    /// someone calls {timeoutRequests}, which emits Chainlink's `RequestTimedOut` as Chainlink
    /// clients and tooling expect.
    function onAgentTimeout(uint256) external view {
        if (msg.sender != address(router)) revert OnlyAgentRouter(msg.sender);
    }

    /// @notice Where `requestId` stands: pending, or timed out (the router settled it without an
    /// answer, refunding its fee to the subscription). Answered requests read as None.
    /// @param requestId A request id {sendRequest} returned.
    /// @return Its status.
    function requestStatus(bytes32 requestId) public view returns (RequestStatus) {
        uint256 routerRequestId = uint256(requestId);
        if (_pending[routerRequestId].client == address(0)) return RequestStatus.None;
        return router.isPending(routerRequestId) ? RequestStatus.Pending : RequestStatus.TimedOut;
    }

    /// @notice Records requests the router timed out (anyone may call, e.g. the client): emits
    /// Chainlink's `RequestTimedOut(requestId)` for each and forgets them. The router refunds and
    /// slashes through its own `timeout`, which the bridge sends for every expired request.
    /// @param requestIds Request ids {sendRequest} returned.
    function timeoutRequests(bytes32[] calldata requestIds) external {
        for (uint256 i; i < requestIds.length; ++i) {
            bytes32 requestId = requestIds[i];
            if (requestStatus(requestId) != RequestStatus.TimedOut) revert RequestNotTimedOut(requestId);
            delete _pending[uint256(requestId)];
            emit RequestTimedOut(requestId);
        }
    }

    // ---------------------------------------------------------------- subscriptions (IFunctionsSubscriptions)

    /// @notice Opens a subscription owned by the caller: a router billing account held by this
    /// adapter, whose id is the subscription id. Fund it with
    /// `pha.transferAndCall(adapter, amount, abi.encode(subscriptionId))`, or through the router.
    /// @return subscriptionId The new subscription's id.
    function createSubscription() public returns (uint64 subscriptionId) {
        subscriptionId = router.createAccount();
        router.addConsumer(subscriptionId, address(this));
        _subscriptions[subscriptionId].owner = msg.sender;
        ++_subscriptionCount;
        emit SubscriptionCreated(subscriptionId, msg.sender);
    }

    /// @notice {createSubscription} and {addConsumer} in one call.
    /// @param consumer The client allowed to send requests.
    /// @return subscriptionId The new subscription's id.
    function createSubscriptionWithConsumer(address consumer) external returns (uint64 subscriptionId) {
        subscriptionId = createSubscription();
        _addConsumer(subscriptionId, consumer);
    }

    /// @notice Lets `consumer` send requests paid by the subscription (idempotent).
    /// @param subscriptionId The caller's subscription.
    /// @param consumer The client allowed to send requests.
    function addConsumer(uint64 subscriptionId, address consumer) external {
        _onlySubscriptionOwner(subscriptionId);
        _addConsumer(subscriptionId, consumer);
    }

    /// @notice Stops `consumer` from sending requests; its pending ones are still answered.
    /// @param subscriptionId The caller's subscription.
    /// @param consumer The client removed.
    function removeConsumer(uint64 subscriptionId, address consumer) external {
        _onlySubscriptionOwner(subscriptionId);
        if (!_isConsumer[subscriptionId][consumer]) revert InvalidConsumer();
        address[] storage consumers = _subscriptions[subscriptionId].consumers;
        uint256 last = consumers.length - 1;
        for (uint256 i; i <= last; ++i) {
            if (consumers[i] == consumer) {
                consumers[i] = consumers[last];
                consumers.pop();
                break;
            }
        }
        delete _isConsumer[subscriptionId][consumer];
        emit SubscriptionConsumerRemoved(subscriptionId, consumer);
    }

    /// @notice Closes the subscription once nothing is pending: its balance goes to `to` and its
    /// billing account is offered to the owner (`router.acceptAccountOwnership`), so PHA sent to the
    /// account later can still be withdrawn.
    /// @param subscriptionId The caller's subscription.
    /// @param to Where its balance goes.
    function cancelSubscription(uint64 subscriptionId, address to) external {
        _onlySubscriptionOwner(subscriptionId);
        BillingAccounts.Account memory account = router.accountOf(subscriptionId);
        if (account.pendingRequests != 0) revert CannotRemoveWithPendingRequests();
        address[] storage consumers = _subscriptions[subscriptionId].consumers;
        for (uint256 i; i < consumers.length; ++i) {
            delete _isConsumer[subscriptionId][consumers[i]];
        }
        delete _subscriptions[subscriptionId];
        emit SubscriptionCanceled(subscriptionId, to, account.balance);
        router.removeConsumer(subscriptionId, address(this));
        router.transferAccountOwnership(subscriptionId, msg.sender);
        if (account.balance != 0) router.withdraw(subscriptionId, to, account.balance);
    }

    /// @notice Chainlink `proposeSubscriptionOwnerTransfer`: offers the subscription to `newOwner`, who must
    /// accept.
    /// @param subscriptionId The caller's subscription.
    /// @param newOwner The proposed owner.
    function proposeSubscriptionOwnerTransfer(uint64 subscriptionId, address newOwner) external {
        _onlySubscriptionOwner(subscriptionId);
        Subscription storage subscription = _subscriptions[subscriptionId];
        if (newOwner == address(0) || subscription.proposedOwner == newOwner) revert InvalidCalldata();
        subscription.proposedOwner = newOwner;
        emit SubscriptionOwnerTransferRequested(subscriptionId, msg.sender, newOwner);
    }

    /// @notice Chainlink `acceptSubscriptionOwnerTransfer`: completes a hand-over to the caller.
    /// @param subscriptionId The subscription offered to the caller.
    function acceptSubscriptionOwnerTransfer(uint64 subscriptionId) external {
        Subscription storage subscription = _subscriptions[subscriptionId];
        address proposedOwner = subscription.proposedOwner;
        if (proposedOwner != msg.sender) revert MustBeProposedOwner(proposedOwner);
        address previousOwner = subscription.owner;
        subscription.owner = msg.sender;
        subscription.proposedOwner = address(0);
        emit SubscriptionOwnerTransferred(subscriptionId, previousOwner, msg.sender);
    }

    /// @notice ERC-1363 hook: `pha.transferAndCall(adapter, amount, abi.encode(subscriptionId))`
    /// funds a subscription (Chainlink's LINK `transferAndCall` to its router, with PHA). Anyone may
    /// fund any subscription; the PHA goes straight on to its billing account.
    /// @param value PHA received.
    /// @param data abi.encode(uint64 subscriptionId).
    /// @return The ERC-1363 receiver selector.
    function onTransferReceived(address, address, uint256 value, bytes calldata data) external returns (bytes4) {
        if (msg.sender != address(pha)) revert OnlyCallableFromPha();
        if (data.length != 32) revert InvalidCalldata();
        uint64 subscriptionId = abi.decode(data, (uint64));
        _requireSubscription(subscriptionId);
        uint256 oldBalance = router.accountOf(subscriptionId).balance;
        SafeERC20.transferAndCallRelaxed(IERC1363(address(pha)), address(router), value, data);
        emit SubscriptionFunded(subscriptionId, oldBalance, oldBalance + value);
        return IERC1363Receiver.onTransferReceived.selector;
    }

    /// @notice Chainlink `getSubscription`: balance and blocked (reserved) balance are the billing
    /// account's; flags are always zero (no tiers here).
    /// @param subscriptionId The subscription.
    /// @return The subscription, in Chainlink's layout.
    function getSubscription(uint64 subscriptionId) external view returns (IFunctionsSubscriptions.Subscription memory) {
        _requireSubscription(subscriptionId);
        Subscription storage subscription = _subscriptions[subscriptionId];
        BillingAccounts.Account memory account = router.accountOf(subscriptionId);
        return IFunctionsSubscriptions.Subscription({
            balance: account.balance,
            owner: subscription.owner,
            blockedBalance: account.reserved,
            proposedOwner: subscription.proposedOwner,
            consumers: subscription.consumers,
            flags: bytes32(0)
        });
    }

    /// @notice Subscriptions opened through this adapter (ids are billing account ids, not 1..n).
    /// @return The count.
    function getSubscriptionCount() external view returns (uint64) {
        return _subscriptionCount;
    }

    /// @notice Whether `client` may send requests paid by `subscriptionId`.
    /// @param subscriptionId The subscription.
    /// @param client The client.
    /// @return Whether it is a consumer.
    function isConsumer(uint64 subscriptionId, address client) external view returns (bool) {
        return _isConsumer[subscriptionId][client];
    }

    /// @notice Whether any request paid by `subscriptionId` is still pending at the router.
    /// @param subscriptionId The subscription.
    /// @return Whether one is pending.
    function pendingRequestExists(uint64 subscriptionId) external view returns (bool) {
        return router.accountOf(subscriptionId).pendingRequests != 0;
    }

    // ---------------------------------------------------------------- governance

    /// @notice Routes `donId` to `agentId` (a functions runtime agent); 0 removes the route.
    /// Requests already sent keep the agent they were sent to.
    /// @param donId The route.
    /// @param agentId The agent, or 0 to remove the route.
    function setDonAgent(bytes32 donId, uint256 agentId) external onlyOwner {
        if (agentId != 0) {
            (address agentOwner,) = router.agentRegistry().ownerAndPrice(agentId);
            if (agentOwner == address(0)) revert UnknownAgent(agentId);
        }
        donAgent[donId] = agentId;
        emit DonAgentSet(donId, agentId);
    }

    /// @notice Sends PHA transferred here without `transferAndCall` (so credited to nobody) to `to`.
    /// The adapter holds no PHA otherwise: funding passes straight through to the router.
    /// @param to Where the PHA goes.
    function recoverFunds(address to) external onlyOwner {
        uint256 amount = pha.balanceOf(address(this));
        emit FundsRecovered(to, amount);
        pha.safeTransfer(to, amount);
    }

    // ---------------------------------------------------------------- internals

    /// @dev The router callback gas for a client callback of `callbackGasLimit`: the client's gas,
    /// plus 1/63 of it so the exact-gas call can forward it all (EIP-150), plus this adapter's own.
    function _routerCallbackGas(uint32 callbackGasLimit, uint32 routerMax) private view returns (uint32) {
        uint256 routerGas = uint256(callbackGasLimit) + callbackGasLimit / 63 + 1 + _adapterGas();
        if (routerGas > routerMax) revert GasLimitTooBig(maxCallbackGasLimit());
        return uint32(routerGas);
    }

    function _request(uint64 subscriptionId, uint256 agentId, uint32 callbackGasLimit, bytes memory input)
        private
        returns (uint256 routerRequestId)
    {
        AgentRouterState.Config memory config = router.feeConfig();
        uint32 routerGas = _routerCallbackGas(callbackGasLimit, config.maxCallbackGasLimit);
        uint96 maxFee = SafeCast.toUint96(_fee(agentId, routerGas, config.phaPerGas));
        return router.request(subscriptionId, agentId, input, 0, routerGas, maxFee);
    }

    /// @dev What a request reserves: the router's minimum fee, plus the calldata of the largest
    /// answer at the router's gas price. The router reimburses the relayer for the fulfilment's
    /// calldata but its minimum fee assumes a small output; without this a client returning
    /// {maxResponseBytes} would leave the relayer paying for the bytes (the reserve is refunded
    /// when the answer is shorter).
    function _fee(uint256 agentId, uint32 routerGas, uint256 phaPerGas) private view returns (uint256) {
        return router.estimateFee(agentId, routerGas) + _responseCalldataBytes() * MAX_CALLDATA_GAS_PER_BYTE * phaPerGas;
    }

    /// @dev The largest output the runtime sends (result tag + response), padded to ABI words.
    function _responseCalldataBytes() private view returns (uint256) {
        return (uint256(maxResponseBytes) + 1 + 31) / 32 * 32;
    }

    function _adapterGas() private view returns (uint256) {
        return CALLBACK_OVERHEAD_GAS + ExactGasCall.GAS_FOR_CHECKS + uint256(maxResponseBytes) * GAS_PER_RESPONSE_BYTE;
    }

    /// @dev What the client receives: the runtime's response, or an error text (the runtime's, the
    /// worker's for a failed run, or this adapter's for an oversized or malformed result).
    function _result(uint16 status, bytes calldata output) private view returns (bytes memory response, bytes memory err) {
        if (status != AgentStatus.OK) return ("", _clip(output));
        if (output.length != 0) {
            bytes calldata body = output[1:];
            if (output[0] == RESULT_RESPONSE) {
                if (body.length <= maxResponseBytes) return (body, "");
                return ("", bytes(string.concat("response >", Strings.toString(maxResponseBytes), " bytes")));
            }
            if (output[0] == RESULT_ERROR) return ("", _clip(body));
        }
        return ("", "invalid result from the functions agent");
    }

    function _clip(bytes calldata text) private view returns (bytes memory) {
        return text.length <= maxResponseBytes ? text : text[:maxResponseBytes];
    }

    function _addConsumer(uint64 subscriptionId, address consumer) private {
        if (_isConsumer[subscriptionId][consumer]) return;
        address[] storage consumers = _subscriptions[subscriptionId].consumers;
        if (consumers.length >= MAX_CONSUMERS) revert TooManyConsumers(MAX_CONSUMERS);
        _isConsumer[subscriptionId][consumer] = true;
        consumers.push(consumer);
        emit SubscriptionConsumerAdded(subscriptionId, consumer);
    }

    function _requireSubscription(uint64 subscriptionId) private view {
        if (_subscriptions[subscriptionId].owner == address(0)) revert InvalidSubscription();
    }

    function _onlySubscriptionOwner(uint64 subscriptionId) private view {
        address owner = _subscriptions[subscriptionId].owner;
        if (owner == address(0)) revert InvalidSubscription();
        if (owner != msg.sender) revert MustBeSubscriptionOwner();
    }
}
