// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IAgentRouter} from "../interfaces/IAgentRouter.sol";
import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";
import {IAgentConsumer} from "../interfaces/IAgentConsumer.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";
import {IWorkerStaking} from "../interfaces/IWorkerStaking.sol";
import {IKeyRegistry} from "../interfaces/IKeyRegistry.sol";
import {AgentStatus} from "./AgentStatus.sol";
import {BillingAccounts} from "./BillingAccounts.sol";
import {ExactGasCall} from "./ExactGasCall.sol";
import {CalldataCost} from "./CalldataCost.sol";
import {RequestCodec} from "./lib/RequestCodec.sol";
import {FulfillmentHash} from "./lib/FulfillmentHash.sol";
import {CallbackCodec} from "./lib/CallbackCodec.sol";

/// @title AgentRouter
/// @notice Entry point of the agent network. Consumers open requests paid from billing accounts;
/// the router assigns a stake-weighted worker, keeps only a commitment, and settles the worker's
/// EIP-712-signed answer: consumer callback with an exact gas limit, then fees to the agent owner,
/// sub-agent owners, the worker's pool, the protocol and the relayer (gas at a governance-set
/// PHA-per-gas rate), refunding the rest. Unanswered requests are refunded after their deadline and
/// the worker slashed; workers that sign two different answers are slashed hard and jailed.
contract AgentRouter is IAgentRouter, BillingAccounts, EIP712, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev What the answers of one fulfil transaction share: the workers already found not banned,
    /// and whether an answer refused for a reason that may arise after the relayer simulated its
    /// transaction (deadline passed, key banned) is skipped (a batch) or reverts (a single fulfil).
    struct Settling {
        address[] cleanWorkers;
        uint256 cleanCount;
        bool batch;
    }

    /// @notice Fee and limit parameters; one storage slot. Every version governance sets is kept: a
    /// request records the version it was opened under and settles on those terms.
    struct Config {
        uint72 workerFee; // PHA to the worker's pool per settled request
        uint64 phaPerGas; // PHA (wei) reimbursed to the relayer per unit of gas
        uint16 protocolFeeBps; // share of (agent price + worker fee) to the treasury
        uint16 timeoutPenaltyBps; // a missed deadline slashes workerFee * this / BPS from the pool
        uint24 fulfillOverheadGas; // gas of a fulfil transaction outside the metered part
        uint24 maxCallbackGasLimit;
        uint24 requestTimeout; // seconds from request to deadline
        uint16 maxPendingPerWorker; // requests a worker may hold unanswered; see docs/ARCHITECTURE.md
    }


    bytes32 public constant FULFILLMENT_TYPEHASH = FulfillmentHash.TYPEHASH;
    uint256 public constant BPS = 10_000;
    uint16 public constant MAX_PROTOCOL_FEE_BPS = 2_000;
    uint24 public constant MIN_REQUEST_TIMEOUT = 30;
    uint24 public constant MAX_REQUEST_TIMEOUT = 1 days;
    uint32 public constant MAX_CALLBACK_GAS_LIMIT = 5_000_000;
    uint72 public constant MAX_WORKER_FEE = 100 ether;
    /// @notice At most five worker fees slashed per missed deadline.
    uint16 public constant MAX_TIMEOUT_PENALTY_BPS = 50_000;
    uint64 public constant MAX_PHA_PER_GAS = 1e15;
    uint24 public constant MAX_FULFILL_OVERHEAD_GAS = 200_000;
    /// @notice Bound of `maxPendingPerWorker`: the arithmetic in docs/ARCHITECTURE.md ("Timeout
    /// flood") must let a worker answer that many before their deadline.
    uint16 public constant MAX_PENDING_PER_WORKER_LIMIT = 1_024;
    uint32 public constant MAX_INPUT_BYTES_LIMIT = type(uint24).max;
    /// @notice Sampling attempts before giving up when sampled workers cannot serve the agent.
    uint256 public constant MAX_ASSIGNMENT_ATTEMPTS = 8;
    /// @notice Sub-agent calls one fulfilment may list.
    uint256 public constant MAX_SUB_CALLS = 16;
    /// @notice Gas handed to every staking slash call, several times what the StakingHub needs at
    /// its worst (a pool detached, its weight moved in the sum tree, two transfers). A timeout or an
    /// equivocation report that cannot give the slash this much reverts rather than skip it.
    uint256 public constant SLASH_GAS = 300_000;
    /// @dev Gas between the check in {_requireGasForSlash} and the CALL (argument encoding, a cold
    /// account access), on top of what EIP-150 keeps back.
    uint256 private constant SLASH_CALL_OVERHEAD = 10_000;
    /// @notice Gas the caller of a timeout is rewarded for (at the request's PHA per gas, out of the
    /// penalty): no more than one entry of a large {timeoutBatch} costs, so no caller, the worker's
    /// own operator included, earns more than its gas by timing a request out.
    uint256 public constant TIMEOUT_REWARD_GAS = 30_000;
    /// @notice Gas the consumer's {IAgentConsumer-onAgentTimeout} gets, exactly: enough to record the
    /// outcome or queue a retry, small enough that anyone can still afford to time requests out.
    uint256 public constant TIMEOUT_CALLBACK_GAS = 50_000;
    /// @notice Gas an equivocation prover is rewarded for, below what {reportEquivocation} costs.
    uint256 public constant EQUIVOCATION_REWARD_GAS = 100_000;
    /// @notice Gas of a fulfilment's metered work outside the callback and the output (signature
    /// check, settlement, a short output), added to the fee estimate so relayers are reimbursed in
    /// full. Measured with `npm run bench:gas`; unused reservation is refunded.
    uint256 public constant ESTIMATED_FULFIL_EXECUTION_GAS = 60_000;
    /// @notice Longest output an answer may carry: the worker's default output limit (64 KiB), and
    /// room for the Functions adapter's largest response and its tag byte. Every request reserves the
    /// fulfilment's gas for an output this long, so no answer the router accepts under-pays its relayer.
    uint256 public constant MAX_OUTPUT_BYTES = 65_536;
    /// @notice Metered gas per output byte reserved: 16 of calldata (EIP-2028, a non-zero byte), ~1.6
    /// to count it ({CalldataCost}), ~1.7 to copy it twice (hash, callback) with memory expansion, and
    /// margin. A 64 KiB answer meters ~19.5 per byte (test/core/RouterAttacksOutputSize.t.sol).
    uint256 public constant OUTPUT_GAS_PER_BYTE = 20;
    /// @dev Stored in a fee balance that owes nothing but was used before; see {_earnings}.
    uint256 private constant PAID_OUT_MARKER = 1;
    /// @dev A worker's book (see {_workerBooks}) holds its fees in the low 224 bits and its pending
    /// requests above them: adding this counts one more.
    uint256 private constant ONE_PENDING = 1 << 224;
    /// @dev Values of a request's two bits in {_settled}.
    uint256 private constant ANSWERED = 1;
    uint256 private constant TIMED_OUT = 3;
    /// @dev Distinct workers whose ban status a batch remembers; later ones are checked per answer.
    uint256 private constant BATCH_WORKER_CACHE_SIZE = 16;
    /// @dev fulfill(Fulfillment): selector and the struct's offset, then the struct.
    uint256 private constant FULFILL_HEADER = 4 + 32;
    /// @dev fulfillBatch(Fulfillment[]): selector, the array's offset and length, then its offsets.
    uint256 private constant BATCH_HEADER = 4 + 32 + 32;

    IAgentRegistry public immutable agentRegistry;
    IWorkerRegistry public immutable workerRegistry;

    /// @dev staking, the request counter, the pause flag, maxInputBytes and the current config version
    /// share one slot: a request reads and writes it once. 2^48 requests outlast any chain.
    IWorkerStaking public staking;
    uint48 private _requestCount;
    bool private _paused;
    uint24 public maxInputBytes;
    uint16 private _configVersion;
    IKeyRegistry public keyRegistry;
    address public treasury;

    /// @dev Append-only: a version's terms never change once requests may refer to them.
    mapping(uint16 version => Config) private _configs;

    /// @dev keccak256(abi.encode(request)) of every request ever opened. Kept after settlement so that
    /// an equivocation proof can always be checked against the request the router really issued.
    mapping(uint256 requestId => bytes32) private _commitments;
    /// @dev Two bits per request, `2 * (id % 128)` and the one above it in word `id / 128`: the low one
    /// is set once request `id` is settled, the high one as well if it timed out. Consecutive ids share
    /// a word, so a batch writes one mostly warm slot.
    mapping(uint256 word => uint256 bits) private _settled;
    mapping(uint256 requestId => bool) public equivocationReported;
    /// @dev The three balances below hold what is owed plus {PAID_OUT_MARKER} once ever credited: paying
    /// out leaves the slot non-zero, so the next credit rewrites a slot (2,900 gas) instead of
    /// creating one (20,000 gas). Read them through {earnings}, {workerFees} and {protocolFees}.
    mapping(address account => uint256) private _earnings;
    /// @dev Per worker, one slot written by each of its requests, answers and timeouts: fees accrued
    /// for the staking side in the low 224 bits (plus {PAID_OUT_MARKER}, as above; all the PHA there
    /// is fits in 90 bits, so fees never carry into the count) and, above them, its requests not yet
    /// settled, at most the config's `maxPendingPerWorker` when one is assigned.
    mapping(address worker => uint256) private _workerBooks;
    uint256 private _protocolFees = PAID_OUT_MARKER;

    /// @dev Declared with {Config}, which it carries; the router's other events and errors are in
    /// {IAgentRouter}.
    event ConfigUpdated(uint16 indexed version, Config config);

    constructor(
        IERC20 pha_,
        IAgentRegistry agentRegistry_,
        IWorkerRegistry workerRegistry_,
        address initialOwner,
        address treasury_,
        Config memory config_,
        uint32 maxInputBytes_
    ) BillingAccounts(pha_) EIP712("AgentRouter", "1") Ownable(initialOwner) {
        if (address(agentRegistry_) == address(0) || address(workerRegistry_) == address(0)) revert ZeroAddress();
        agentRegistry = agentRegistry_;
        workerRegistry = workerRegistry_;
        _setTreasury(treasury_);
        _setConfig(config_);
        _setMaxInputBytes(maxInputBytes_);
    }

    // ---------------------------------------------------------------- requests

    /// @inheritdoc IAgentRouter
    function request(
        uint64 accountId,
        uint256 agentId,
        bytes calldata input,
        uint32 keyEpoch,
        uint32 callbackGasLimit,
        uint96 maxFee
    ) external returns (uint256 requestId) {
        if (_paused) revert EnforcedPause();
        if (!isConsumer[accountId][msg.sender]) revert ConsumerNotAllowed(accountId, msg.sender);
        if (input.length > maxInputBytes) revert InputTooLarge(input.length, maxInputBytes);
        if (keyEpoch != 0) _requireUsableEpoch(keyEpoch);
        AgentRequest memory req = _openRequest(accountId, agentId, keccak256(input), keyEpoch, callbackGasLimit, maxFee);
        requestId = req.id;
        emit AgentRequested(requestId, agentId, req.worker, req, input);
    }

    /// @inheritdoc IAgentRouter
    /// @dev Only the canonical ABI encoding is accepted and its calldata is billed at what the EVM
    /// charges for it, so a relayer cannot pad the transaction to take the consumer's refund.
    function fulfill(Fulfillment calldata fulfillment) external nonReentrant {
        uint256 startGas = gasleft();
        if (_calldataAt(fulfillment) != FULFILL_HEADER || msg.data.length != FULFILL_HEADER + _encodedSize(FULFILL_HEADER)) {
            revert NonCanonicalCalldata();
        }
        Settling memory single;
        (uint256 protocolFee, uint256 relayerFee) = _fulfillOne(
            fulfillment, _pendingCommitment(fulfillment.request.id), startGas + CalldataCost.gasOf(0, msg.data.length), 1, single
        );
        _creditTransactionFees(protocolFee, relayerFee);
    }

    /// @inheritdoc IAgentRouter
    /// @dev A worker's ban status is read once per batch (for up to {BATCH_WORKER_CACHE_SIZE} distinct
    /// workers): a key jailed or revoked by a consumer's callback in the middle of the batch is refused
    /// from the next transaction on. Each entry is billed its own calldata and an equal share of the
    /// selector, the array's head (offset, length, the entries' offsets) and the fixed overhead; only
    /// the canonical encoding is accepted.
    function fulfillBatch(Fulfillment[] calldata fulfillments) external nonReentrant {
        uint256 count = fulfillments.length;
        if (count == 0) return;
        if (_calldataAt(fulfillments) != BATCH_HEADER) revert NonCanonicalCalldata();
        uint256 headShare = CalldataCost.gasOf(0, BATCH_HEADER + count * 32) / count;
        uint256 totalProtocolFee;
        uint256 totalRelayerFee;
        Settling memory batch = Settling(new address[](BATCH_WORKER_CACHE_SIZE), 0, true);
        uint256 freeMemory = _freeMemoryPointer();
        // Where the next entry must start, relative to the array's offsets: right after the previous one.
        uint256 next = count * 32;
        for (uint256 i; i < count; ++i) {
            // Nothing one answer allocates outlives it: reusing that memory keeps expansion flat.
            _setFreeMemoryPointer(freeMemory);
            uint256 startGas = gasleft();
            uint256 calldataGas;
            (next, calldataGas) = _meterBatchEntry(fulfillments, i, next);
            (uint256 protocolFee, uint256 relayerFee) =
                _fulfillBatchEntry(fulfillments[i], startGas + calldataGas + headShare, count, batch);
            totalProtocolFee += protocolFee;
            totalRelayerFee += relayerFee;
        }
        if (msg.data.length != BATCH_HEADER + next) revert NonCanonicalCalldata();
        _creditTransactionFees(totalProtocolFee, totalRelayerFee);
    }

    /// @inheritdoc IAgentRouter
    function timeout(AgentRequest calldata req) external nonReentrant {
        _timeout(req);
    }

    /// @inheritdoc IAgentRouter
    function timeoutBatch(AgentRequest[] calldata requests) external nonReentrant {
        for (uint256 i; i < requests.length; ++i) {
            AgentRequest calldata req = requests[i];
            if (_pendingCommitment(req.id) == bytes32(0)) {
                emit TimeoutSkipped(req.id);
                continue;
            }
            _timeout(req);
        }
    }

    /// @inheritdoc IAgentRouter
    function reportEquivocation(AgentRequest calldata req, SignedAnswer calldata a, SignedAnswer calldata b)
        external
        nonReentrant
    {
        bytes32 requestHash = RequestCodec.hash(req);
        bytes32 commitment = _commitments[req.id];
        if (commitment == bytes32(0)) revert UnknownRequest(req.id);
        _requireCommitment(req.id, commitment, requestHash);
        // One proof per request suffices: the id now names one real request and its one worker.
        if (equivocationReported[req.id]) revert EquivocationAlreadyReported(req.id);
        bytes32 digestA = _fulfillmentDigest(
            req.id,
            requestHash,
            a.outputHash,
            a.status,
            FulfillmentHash.wordsHash(a.subAgentIds),
            FulfillmentHash.wordsHash(a.subAgentPrices),
            req.worker
        );
        bytes32 digestB = _fulfillmentDigest(
            req.id,
            requestHash,
            b.outputHash,
            b.status,
            FulfillmentHash.wordsHash(b.subAgentIds),
            FulfillmentHash.wordsHash(b.subAgentPrices),
            req.worker
        );
        if (digestA == digestB) revert NotEquivocation(req.id);
        _requireSigner(req.id, digestA, a.signature, req.worker);
        _requireSigner(req.id, digestB, b.signature, req.worker);

        equivocationReported[req.id] = true;
        workerRegistry.jail(req.worker);
        uint256 slashed;
        uint256 reward = EQUIVOCATION_REWARD_GAS * _configs[req.configVersion].phaPerGas;
        _requireGasForSlash();
        // staking is set: the request exists, so staking was wired before it, and is never unset.
        try staking.slashForEquivocation{gas: SLASH_GAS}(req.worker, req.id, msg.sender, reward) returns (uint256 amount) {
            slashed = amount;
        } catch {
            emit SlashFailed(req.id, req.worker);
        }
        emit EquivocationReported(req.id, req.worker, msg.sender, slashed);
    }

    // ---------------------------------------------------------------- earnings

    /// @notice Withdraws the caller's earnings (agent prices, relayer gas reimbursement) to `to`.
    function withdrawEarnings(address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        uint256 amount = _owed(_earnings[msg.sender]);
        if (amount == 0) revert NothingToWithdraw();
        _earnings[msg.sender] = PAID_OUT_MARKER;
        emit EarningsWithdrawn(msg.sender, to, amount);
        pha.safeTransfer(to, amount);
    }

    /// @inheritdoc IAgentRouter
    function collectWorkerFees(address worker) external nonReentrant returns (uint256 amount) {
        if (msg.sender != address(staking)) revert NotStaking(msg.sender);
        uint256 book = _workerBooks[worker];
        amount = _owed(uint224(book));
        if (amount == 0) return 0;
        // Keep the pending count, reset the fees to the marker.
        _workerBooks[worker] = book - amount;
        emit WorkerFeesCollected(worker, amount);
        pha.safeTransfer(msg.sender, amount);
    }

    /// @notice Sends accrued protocol fees to the treasury; anyone may trigger it.
    function withdrawProtocolFees() external nonReentrant {
        uint256 amount = _owed(_protocolFees);
        if (amount == 0) revert NothingToWithdraw();
        _protocolFees = PAID_OUT_MARKER;
        emit ProtocolFeesWithdrawn(treasury, amount);
        pha.safeTransfer(treasury, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice PHA owed to `account` (agent prices, relayer gas reimbursement), withdrawn with {withdrawEarnings}.
    function earnings(address account) external view returns (uint256) {
        return _owed(_earnings[account]);
    }

    /// @inheritdoc IAgentRouter
    function workerFees(address worker) external view returns (uint256) {
        return _owed(uint224(_workerBooks[worker]));
    }

    /// @notice Requests assigned to `worker` and not yet answered or timed out.
    function pendingOf(address worker) external view returns (uint256) {
        return _workerBooks[worker] / ONE_PENDING;
    }

    /// @notice Protocol fees not yet sent to the treasury.
    function protocolFees() external view returns (uint256) {
        return _owed(_protocolFees);
    }

    /// @notice Number of requests made; request ids run from 1.
    function requestCount() external view returns (uint64) {
        return _requestCount;
    }

    /// @notice True while new requests are refused.
    function paused() external view returns (bool) {
        return _paused;
    }

    /// @inheritdoc IAgentRouter
    function isPending(uint256 requestId) external view returns (bool) {
        return _pendingCommitment(requestId) != bytes32(0);
    }

    /// @inheritdoc IAgentRouter
    function requestStatus(uint256 requestId) external view returns (RequestStatus) {
        if (_commitments[requestId] == bytes32(0)) return RequestStatus.Unknown;
        uint256 state = _settledState(requestId);
        if (state == 0) return RequestStatus.Pending;
        return state == ANSWERED ? RequestStatus.Answered : RequestStatus.TimedOut;
    }

    /// @notice The commitment keccak256(abi.encode(request)) of request `requestId`, pending or settled
    /// (zero if never opened).
    function commitmentOf(uint256 requestId) external view returns (bytes32) {
        return _commitments[requestId];
    }

    /// @inheritdoc IAgentRouter
    function estimateFee(uint256 agentId, uint32 callbackGasLimit) external view returns (uint256) {
        (address owner, uint96 price) = agentRegistry.ownerAndPrice(agentId);
        if (owner == address(0)) revert UnknownAgent(agentId);
        return _minimumFee(price, callbackGasLimit, _configs[_configVersion]);
    }

    /// @notice Current fee and limit parameters, the terms of new requests.
    function feeConfig() external view returns (Config memory) {
        return _configs[_configVersion];
    }

    /// @notice The current config version, recorded in each new request as `configVersion`.
    function configVersion() external view returns (uint16) {
        return _configVersion;
    }

    /// @notice The terms of config `version`, those its requests settle on (zero if never set).
    function configAt(uint16 version) external view returns (Config memory) {
        return _configs[version];
    }

    /// @notice The EIP-712 digest a worker signs for an answer.
    function fulfillmentDigest(
        uint256 requestId,
        bytes32 requestHash,
        bytes32 outputHash,
        uint16 status,
        uint256[] calldata subAgentIds,
        uint96[] calldata subAgentPrices,
        address worker
    ) external view returns (bytes32) {
        return _fulfillmentDigest(
            requestId,
            requestHash,
            outputHash,
            status,
            FulfillmentHash.wordsHash(subAgentIds),
            FulfillmentHash.wordsHash(subAgentPrices),
            worker
        );
    }

    // ---------------------------------------------------------------- governance

    /// @notice Governance: sets fees and limits (bounded) for new requests, as a new config version;
    /// pending requests keep the terms they were opened with.
    function setConfig(Config calldata newConfig) external onlyOwner {
        _setConfig(newConfig);
    }

    /// @notice Governance: sets the largest accepted request input.
    function setMaxInputBytes(uint32 newMax) external onlyOwner {
        _setMaxInputBytes(newMax);
    }

    /// @notice Governance: wires the staking contract (worker sampling, slashing, fee collection), once.
    /// @dev Worker fees accrue here for the staking contract to collect: a second staking contract
    /// could collect fees earned under the first, so moving to another one means a new router.
    function setStaking(IWorkerStaking newStaking) external onlyOwner {
        if (address(newStaking) == address(0)) revert ZeroAddress();
        if (address(staking) != address(0)) revert StakingAlreadySet();
        staking = newStaking;
        emit StakingUpdated(address(newStaking));
    }

    /// @notice Governance: sets the key registry that validates confidential inputs' epochs.
    function setKeyRegistry(IKeyRegistry newKeyRegistry) external onlyOwner {
        keyRegistry = newKeyRegistry;
        emit KeyRegistryUpdated(address(newKeyRegistry));
    }

    /// @notice Governance: sets where protocol fees go.
    function setTreasury(address newTreasury) external onlyOwner {
        _setTreasury(newTreasury);
    }

    /// @notice Governance: stops new requests; settlement, timeouts and withdrawals keep working.
    function pause() external onlyOwner {
        if (_paused) revert EnforcedPause();
        _paused = true;
        emit Paused(msg.sender);
    }

    /// @notice Governance: accepts new requests again.
    function unpause() external onlyOwner {
        if (!_paused) revert ExpectedPause();
        _paused = false;
        emit Unpaused(msg.sender);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Reserves `maxFee`, assigns a worker and stores the commitment of the new request, on the
    /// agent's current terms and the current config version.
    function _openRequest(
        uint64 accountId,
        uint256 agentId,
        bytes32 inputHash,
        uint32 keyEpoch,
        uint32 callbackGasLimit,
        uint96 maxFee
    ) private returns (AgentRequest memory req) {
        uint16 version = _configVersion;
        Config memory config = _configs[version];
        if (callbackGasLimit > config.maxCallbackGasLimit) {
            revert CallbackGasLimitTooHigh(callbackGasLimit, config.maxCallbackGasLimit);
        }
        IAgentRegistry.RequestTerms memory terms = agentRegistry.requestTerms(agentId, msg.sender);
        {
            uint256 required = _minimumFee(terms.price, callbackGasLimit, config);
            if (maxFee < required) revert MaxFeeTooLow(maxFee, required);
        }
        _reserve(accountId, maxFee);

        uint256 requestId = ++_requestCount;
        req = AgentRequest({
            id: requestId,
            agentId: agentId,
            consumer: msg.sender,
            accountId: accountId,
            worker: _assignWorker(requestId, agentId, terms.anyMeasurement, config.maxPendingPerWorker),
            agentVersion: terms.version,
            keyEpoch: keyEpoch,
            callbackGasLimit: callbackGasLimit,
            agentOwner: terms.owner,
            agentPrice: terms.price,
            maxFee: maxFee,
            deadline: uint64(block.timestamp) + config.requestTimeout,
            codeHash: terms.codeHash,
            inputHash: inputHash,
            configVersion: version
        });
        _commitments[requestId] = keccak256(abi.encode(req));
    }

    /// @dev Refunds an unanswered request in full after its deadline and slashes its worker; the
    /// single path of {timeout} and {timeoutBatch}.
    function _timeout(AgentRequest calldata req) private {
        _requireCommitment(req.id, _pendingCommitment(req.id), RequestCodec.hash(req));
        if (block.timestamp <= req.deadline) revert DeadlineNotPassed(req.id, req.deadline);
        _markSettled(req.id, TIMED_OUT);
        _settleAccount(req.accountId, req.maxFee, 0);
        _releaseWorker(req.worker, 0);
        emit RequestTimedOut(req.id, req.worker, msg.sender, req.maxFee);

        // The penalty follows the request (its config's worker fee), not the pool's size; the caller
        // gets back its gas at most and the rest goes to the treasury. The requester's compensation is
        // the full refund: anything more could be farmed by a requester colluding with the operator.
        Config memory config = _configs[req.configVersion];
        uint256 penalty = uint256(config.workerFee) * config.timeoutPenaltyBps / BPS;
        if (penalty != 0) {
            uint256 reward = TIMEOUT_REWARD_GAS * config.phaPerGas;
            _requireGasForSlash();
            // staking is set: the request exists, so staking was wired before it, and is never unset.
            try staking.slashForTimeout{gas: SLASH_GAS}(req.worker, req.id, penalty, msg.sender, reward) {}
            catch {
                emit SlashFailed(req.id, req.worker);
            }
        }
        // Last, everything settled: the consumer sees a final state. Exactly TIMEOUT_CALLBACK_GAS or
        // the transaction reverts, so no chosen gas limit skips the notice; its outcome is ignored, so
        // a reverting, gas-burning or return-data-bombing consumer cannot block the refund or the slash.
        ExactGasCall.call(req.consumer, TIMEOUT_CALLBACK_GAS, abi.encodeCall(IAgentConsumer.onAgentTimeout, (req.id)));
    }

    /// @dev A slash in a try/catch could otherwise be starved: with a gas limit chosen so that the
    /// call runs out while the 1/64 kept back (EIP-150) finishes the transaction, the caller would
    /// skip it. With SLASH_GAS guaranteed, only a genuine failure of the staking side is caught.
    function _requireGasForSlash() private view {
        if (gasleft() < SLASH_GAS + SLASH_GAS / 63 + SLASH_CALL_OVERHEAD) revert InsufficientGasForSlash(SLASH_GAS);
    }

    /// @dev Settles one batch entry, or skips it (no fees) when its request is no longer pending.
    function _fulfillBatchEntry(
        Fulfillment calldata fulfillment,
        uint256 meterBase,
        uint256 count,
        Settling memory batch
    ) private returns (uint256 protocolFee, uint256 relayerFee) {
        uint256 requestId = fulfillment.request.id;
        bytes32 commitment = _pendingCommitment(requestId);
        if (commitment == bytes32(0)) {
            emit FulfillmentSkipped(requestId);
            return (0, 0);
        }
        return _fulfillOne(fulfillment, commitment, meterBase, count, batch);
    }

    /// @dev Checks that batch entry `index` starts at `at` (relative to the array's offsets, as the
    /// canonical encoding places it) and returns where the next one must start and the calldata gas of
    /// the entry.
    function _meterBatchEntry(Fulfillment[] calldata fulfillments, uint256 index, uint256 at)
        private
        pure
        returns (uint256 next, uint256 calldataGas)
    {
        uint256 offsets;
        uint256 offset;
        assembly ("memory-safe") {
            // Where the array's offsets start (right after its length word).
            offsets := fulfillments.offset
            // Entry `index`'s offset, word `index` of them; `index` < length, so it is in calldata.
            offset := calldataload(add(offsets, shl(5, index)))
        }
        if (offset != at) revert NonCanonicalCalldata();
        uint256 size = _encodedSize(offsets + at);
        next = at + size;
        calldataGas = CalldataCost.gasOf(offsets + at, size);
    }

    /// @dev Size of the Fulfillment ABI-encoded at calldata position `start`, which must be the
    /// canonical encoding: its dynamic members in order right after the head and each other, zero
    /// padding, lengths in range. Any other byte the relayer adds is refused rather than billed.
    function _encodedSize(uint256 start) private pure returns (uint256 size) {
        bool canonical;
        assembly ("memory-safe") {
            // Head: 15 request words and the status, then the offsets of output, subAgentIds,
            // subAgentPrices and signature (words 16 to 19); the tails follow in that order. Every
            // offset is checked equal to where the canonical encoding puts its tail. `at` grows by
            // lengths checked below (< 2^32 bytes, < 2^16 words); if one is out of range, `at` may
            // be garbage but `canonical` is already false and the function reverts. A read past the
            // calldata's end gives zero, so nothing here can read out of bounds.
            let at := 0x280
            // output's offset: right after the 20-word head.
            canonical := eq(calldataload(add(start, 0x200)), at)
            let length := calldataload(add(start, at))
            // Bytes rounded up to whole words (the ABI pads to 32); `length` is bounded below.
            let padded := and(add(length, 31), not(31))
            // Bytes of the output in its last word (0: the output ends on a word boundary).
            let partial := and(length, 31)
            // The last word's bytes past the output are zero (its data is left-aligned): shifting
            // it left by the `partial` data bytes leaves only the padding, which must be zero.
            canonical :=
                and(
                    and(canonical, lt(length, 0x100000000)),
                    or(iszero(partial), iszero(shl(shl(3, partial), calldataload(add(add(start, at), padded)))))
                )
            // Past output: its length word and its padded bytes.
            at := add(at, add(0x20, padded))
            // subAgentIds: offset, then a length below 2^16 and that many words after it.
            canonical := and(canonical, eq(calldataload(add(start, 0x220)), at))
            let count := calldataload(add(start, at))
            canonical := and(canonical, lt(count, 0x10000))
            // Past the array: (count + 1) words, the length word included.
            at := add(at, shl(5, add(count, 1)))
            // subAgentPrices, the same.
            canonical := and(canonical, eq(calldataload(add(start, 0x240)), at))
            count := calldataload(add(start, at))
            canonical := and(canonical, lt(count, 0x10000))
            at := add(at, shl(5, add(count, 1)))
            // signature: bytes like output, shorter than 2^16.
            canonical := and(canonical, eq(calldataload(add(start, 0x260)), at))
            length := calldataload(add(start, at))
            padded := and(add(length, 31), not(31))
            partial := and(length, 31)
            canonical :=
                and(
                    and(canonical, lt(length, 0x10000)),
                    or(iszero(partial), iszero(shl(shl(3, partial), calldataload(add(add(start, at), padded)))))
                )
            size := add(at, add(0x20, padded))
        }
        if (!canonical) revert NonCanonicalCalldata();
    }

    /// @dev Calldata position of an ABI-decoded calldata struct or array (its head or its offsets).
    function _calldataAt(Fulfillment calldata fulfillment) private pure returns (uint256 at) {
        assembly ("memory-safe") {
            at := fulfillment
        }
    }

    function _calldataAt(Fulfillment[] calldata fulfillments) private pure returns (uint256 at) {
        assembly ("memory-safe") {
            at := fulfillments.offset
        }
    }

    /// @dev Settles one answer on the terms of its request's config version. The relayer is reimbursed
    /// `meterBase - gasleft()` (gas since the answer's metering started, plus its calldata) and a
    /// `count`-th of the config's fixed transaction overhead. A batch entry refused for a reason that
    /// could arise after the relayer's simulation is skipped with {FulfillmentRejected}, no fees.
    function _fulfillOne(
        Fulfillment calldata fulfillment,
        bytes32 commitment,
        uint256 meterBase,
        uint256 count,
        Settling memory settling
    ) private returns (uint256 protocolFee, uint256 relayerFee) {
        (AgentRequest memory req, uint16 status, bytes32 outputHash, bytes4 refusal) =
            _verifyAnswer(fulfillment, commitment, settling);
        if (refusal != bytes4(0)) {
            emit FulfillmentRejected(req.id, refusal);
            return (0, 0);
        }
        _markSettled(req.id, ANSWERED);

        bool callbackSucceeded = _callConsumer(req, status, fulfillment.output, outputHash);

        uint256 refund;
        (protocolFee, relayerFee, refund) = _charge(req, status, fulfillment, meterBase, count);
        emit RequestFulfilled(req.id, req.worker, status, callbackSucceeded, outputHash, req.maxFee - refund, refund);
    }

    /// @dev Pays everyone from the reservation on the terms of the request's config version, the
    /// relayer last (gas metered until here), and releases the reservation; `refund` stays with the
    /// account.
    function _charge(
        AgentRequest memory req,
        uint16 status,
        Fulfillment calldata fulfillment,
        uint256 meterBase,
        uint256 count
    ) private returns (uint256 protocolFee, uint256 relayerFee, uint256 refund) {
        Config memory config = _configs[req.configVersion];
        (protocolFee, refund) = _payFees(req, status, fulfillment, config);
        relayerFee = Math.min((meterBase - gasleft() + config.fulfillOverheadGas / count) * config.phaPerGas, refund);
        refund -= relayerFee;
        _settleAccount(req.accountId, req.maxFee, req.maxFee - refund);
    }

    /// @dev The consumer's callback with exactly the gas it asked for; its failure never blocks settlement.
    function _callConsumer(AgentRequest memory req, uint16 status, bytes calldata output, bytes32 outputHash)
        private
        returns (bool succeeded)
    {
        succeeded =
            ExactGasCall.call(req.consumer, req.callbackGasLimit, CallbackCodec.onAgentResponse(req.id, status, output));
        if (!succeeded) emit CallbackFailed(req.id, outputHash);
    }

    /// @dev Checks the answer is for a pending request, in time, signed by its assigned worker, and
    /// that worker not banned. In a batch, a passed deadline or a banned worker returns the error's
    /// selector as `refusal` instead of reverting: both can arise between the relayer's simulation and
    /// inclusion and must not sink the other answers. Everything else is the relayer's to get right.
    function _verifyAnswer(Fulfillment calldata fulfillment, bytes32 commitment, Settling memory settling)
        private
        view
        returns (AgentRequest memory req, uint16 status, bytes32 outputHash, bytes4 refusal)
    {
        bytes32 requestHash;
        (req, requestHash) = RequestCodec.load(fulfillment.request);
        _requireCommitment(req.id, commitment, requestHash);
        status = fulfillment.status;
        if (block.timestamp > req.deadline) {
            if (settling.batch) return (req, status, outputHash, DeadlinePassed.selector);
            revert DeadlinePassed(req.id, req.deadline);
        }
        // The reservation covers this much output (see {_minimumFee}); a longer one is the relayer's
        // to refuse before sending, as a worker must never sign one.
        if (fulfillment.output.length > MAX_OUTPUT_BYTES) revert OutputTooLarge(req.id, fulfillment.output.length);
        outputHash = FulfillmentHash.calldataHash(fulfillment.output);
        _requireSigner(req.id, _answerDigest(fulfillment, req, requestHash, outputHash), fulfillment.signature, req.worker);
        if (_isBanned(req.worker, settling)) {
            if (settling.batch) return (req, status, outputHash, WorkerBanned.selector);
            revert WorkerBanned(req.id, req.worker);
        }
    }

    /// @dev The EIP-712 digest the assigned worker must have signed for `fulfillment`.
    function _answerDigest(
        Fulfillment calldata fulfillment,
        AgentRequest memory req,
        bytes32 requestHash,
        bytes32 outputHash
    ) private view returns (bytes32) {
        uint256[] calldata subAgentIds = fulfillment.subAgentIds;
        uint96[] calldata subAgentPrices = fulfillment.subAgentPrices;
        if (subAgentIds.length > MAX_SUB_CALLS) revert TooManySubCalls(subAgentIds.length);
        if (subAgentPrices.length != subAgentIds.length) {
            revert SubCallPricesMismatch(subAgentIds.length, subAgentPrices.length);
        }
        return _fulfillmentDigest(
            req.id,
            requestHash,
            outputHash,
            fulfillment.status,
            FulfillmentHash.wordsHash(subAgentIds),
            FulfillmentHash.wordsHash(subAgentPrices),
            req.worker
        );
    }

    /// @dev A jailed (equivocating) or revoked (compromised) key's answers are refused; the request
    /// then times out and is refunded in full. Workers found clean are remembered in `settling`.
    function _isBanned(address worker, Settling memory settling) private view returns (bool) {
        address[] memory known = settling.cleanWorkers;
        uint256 count = settling.cleanCount;
        for (uint256 i; i < count; ++i) {
            if (known[i] == worker) return false;
        }
        if (workerRegistry.isBanned(worker)) return true;
        if (count < known.length) {
            known[count] = worker;
            settling.cleanCount = count + 1;
        }
        return false;
    }

    /// @dev Takes fees in priority order, each capped by what is left of the reservation, so a
    /// governance change between request and answer can never make settlement revert.
    function _payFees(AgentRequest memory req, uint16 status, Fulfillment calldata fulfillment, Config memory config)
        private
        returns (uint256 protocolFee, uint256 remaining)
    {
        remaining = req.maxFee;
        uint256 workerFee = Math.min(config.workerFee, remaining);
        remaining -= workerFee;
        _releaseWorker(req.worker, workerFee);
        uint256 agentFee;
        if (status == AgentStatus.OK) {
            agentFee = Math.min(req.agentPrice, remaining);
            remaining -= agentFee;
            _accrue(_earnings, req.agentOwner, agentFee);
        }
        protocolFee = Math.min((agentFee + workerFee) * config.protocolFeeBps / BPS, remaining);
        remaining -= protocolFee;
        // Callees did their work whatever became of the caller, whose agent had their outputs.
        if (fulfillment.subAgentIds.length != 0) {
            remaining = _paySubAgents(req.id, fulfillment.subAgentIds, fulfillment.subAgentPrices, remaining);
        }
    }

    /// @dev Each callee is paid the price the worker signed for its call, or its current price if that
    /// is lower: an owner raising its price after the call (say, seeing the answer in the mempool)
    /// gains nothing, and the signed list caps what any sub-call can cost the requester.
    function _paySubAgents(
        uint256 requestId,
        uint256[] calldata subAgentIds,
        uint96[] calldata subAgentPrices,
        uint256 remaining
    ) private returns (uint256) {
        for (uint256 i; i < subAgentIds.length && remaining != 0; ++i) {
            (address owner, uint96 price) = agentRegistry.ownerAndPrice(subAgentIds[i]);
            if (owner == address(0)) continue;
            uint256 amount = Math.min(Math.min(price, subAgentPrices[i]), remaining);
            remaining -= amount;
            _accrue(_earnings, owner, amount);
            emit SubAgentPaid(requestId, subAgentIds[i], owner, amount);
        }
        return remaining;
    }

    /// @dev Samples a worker that can serve the agent and holds fewer than `maxPending` unsettled
    /// requests, and counts the new one against it. A full worker is skipped like an ineligible one
    /// and the draw repeated from the next seed: prevrandao is known to a contract in its own block
    /// (see DESIGN.md for the limits), so a requester can aim requests at one worker, but never more
    /// than that worker can answer before their deadline. Reverts {WorkersBusy} when every worker
    /// drawn that could serve was full, before anything is charged.
    function _assignWorker(uint256 requestId, uint256 agentId, bool anyMeasurement, uint256 maxPending)
        private
        returns (address)
    {
        IWorkerStaking staking_ = staking;
        if (address(staking_) == address(0)) revert StakingNotSet();
        uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, requestId, msg.sender)));
        bool busy;
        for (uint256 attempt; attempt < MAX_ASSIGNMENT_ATTEMPTS; ++attempt) {
            address worker = staking_.sampleWorker(seed);
            if (worker == address(0)) break;
            bytes32 measurement = workerRegistry.activeMeasurementOf(worker);
            if (
                measurement != bytes32(0)
                    && (anyMeasurement || agentRegistry.isMeasurementAllowed(agentId, measurement))
            ) {
                uint256 book = _workerBooks[worker];
                if (book / ONE_PENDING < maxPending) {
                    _workerBooks[worker] = book + ONE_PENDING;
                    return worker;
                }
                busy = true;
            }
            seed = uint256(keccak256(abi.encode(seed)));
        }
        if (busy) revert WorkersBusy(agentId);
        revert NoEligibleWorker(agentId);
    }

    /// @dev Settles one of `worker`'s requests: one fewer pending (it was counted when assigned, so
    /// the subtraction cannot underflow), `fee` more to collect, in one write.
    function _releaseWorker(address worker, uint256 fee) private {
        uint256 book = _workerBooks[worker];
        if (fee != 0 && uint224(book) == 0) book += PAID_OUT_MARKER;
        _workerBooks[worker] = book + fee - ONE_PENDING;
    }

    function _reserve(uint64 accountId, uint96 amount) private {
        Account memory account = _accounts[accountId];
        uint256 available = account.balance - account.reserved;
        if (available < amount) revert InsufficientBalance(accountId, available, amount);
        account.reserved += amount;
        ++account.pendingRequests;
        _accounts[accountId] = account;
    }

    /// @dev Releases a reservation of `reserved`, of which `charged` left the account.
    function _settleAccount(uint64 accountId, uint96 reserved, uint256 charged) private {
        Account memory account = _accounts[accountId];
        account.reserved -= reserved;
        account.balance -= uint96(charged);
        --account.pendingRequests;
        _accounts[accountId] = account;
    }

    function _creditTransactionFees(uint256 protocolFee, uint256 relayerFee) private {
        if (protocolFee != 0) _protocolFees += protocolFee;
        _accrue(_earnings, msg.sender, relayerFee);
    }

    /// @dev The commitment of `requestId` while it awaits an answer or a timeout, zero otherwise.
    function _pendingCommitment(uint256 requestId) private view returns (bytes32 commitment) {
        commitment = _commitments[requestId];
        if (commitment != bytes32(0) && _settledState(requestId) != 0) commitment = bytes32(0);
    }

    /// @dev 0 while pending, else ANSWERED or TIMED_OUT.
    function _settledState(uint256 requestId) private view returns (uint256) {
        return (_settled[requestId >> 7] >> ((requestId & 0x7f) << 1)) & 3;
    }

    function _markSettled(uint256 requestId, uint256 state) private {
        _settled[requestId >> 7] |= state << ((requestId & 0x7f) << 1);
    }

    function _accrue(mapping(address => uint256) storage balances, address to, uint256 amount) private {
        if (amount == 0) return;
        uint256 stored = balances[to];
        balances[to] = (stored == 0 ? PAID_OUT_MARKER : stored) + amount;
    }

    function _owed(uint256 stored) private pure returns (uint256) {
        return stored == 0 ? 0 : stored - PAID_OUT_MARKER;
    }

    /// @dev The one check of a request passed in calldata: `commitment` (zero if none, or none
    /// pending) is the router's for `requestId`, and `requestHash` of the request given matches it.
    /// A match proves every field is the router's, cleanly encoded.
    function _requireCommitment(uint256 requestId, bytes32 commitment, bytes32 requestHash) private pure {
        if (commitment == bytes32(0)) revert RequestNotPending(requestId);
        if (commitment != requestHash) revert RequestMismatch(requestId);
    }

    function _requireUsableEpoch(uint32 keyEpoch) private view {
        IKeyRegistry registry = keyRegistry;
        if (address(registry) == address(0) || !registry.isEpochUsable(keyEpoch)) revert KeyEpochNotUsable(keyEpoch);
    }

    function _requireSigner(uint256 requestId, bytes32 digest, bytes calldata signature, address worker)
        private
        pure
    {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != worker) revert WrongSigner(requestId, signer, worker);
    }

    /// @dev The EIP-712 digest of a Fulfillment: its struct hash under this router's domain. The arrays
    /// come as their EIP-712 encodings ({FulfillmentHash-wordsHash}).
    function _fulfillmentDigest(
        uint256 requestId,
        bytes32 requestHash,
        bytes32 outputHash,
        uint16 status,
        bytes32 subAgentIdsHash,
        bytes32 subAgentPricesHash,
        address worker
    ) private view returns (bytes32) {
        return _hashTypedDataV4(
            FulfillmentHash.structHash(
                requestId, requestHash, outputHash, status, subAgentIdsHash, subAgentPricesHash, worker
            )
        );
    }

    function _freeMemoryPointer() private pure returns (uint256 pointer) {
        assembly ("memory-safe") {
            pointer := mload(0x40)
        }
    }

    /// @dev Only ever rewinds to a value {_freeMemoryPointer} returned earlier in the same call: what
    /// lies past it was allocated since and is dead, so reusing it is memory-safe.
    function _setFreeMemoryPointer(uint256 pointer) private pure {
        assembly ("memory-safe") {
            mstore(0x40, pointer)
        }
    }

    function _minimumFee(uint256 price, uint32 callbackGasLimit, Config memory config) private pure returns (uint256) {
        uint256 base = price + config.workerFee;
        return base + base * config.protocolFeeBps / BPS
            + (
                uint256(callbackGasLimit) + config.fulfillOverheadGas + ESTIMATED_FULFIL_EXECUTION_GAS
                    + MAX_OUTPUT_BYTES * OUTPUT_GAS_PER_BYTE
            ) * config.phaPerGas;
    }

    function _setConfig(Config memory newConfig) private {
        if (
            newConfig.protocolFeeBps > MAX_PROTOCOL_FEE_BPS || newConfig.requestTimeout < MIN_REQUEST_TIMEOUT
                || newConfig.requestTimeout > MAX_REQUEST_TIMEOUT || newConfig.maxCallbackGasLimit > MAX_CALLBACK_GAS_LIMIT
                || newConfig.workerFee > MAX_WORKER_FEE || newConfig.phaPerGas > MAX_PHA_PER_GAS
                || newConfig.fulfillOverheadGas > MAX_FULFILL_OVERHEAD_GAS
                || newConfig.timeoutPenaltyBps > MAX_TIMEOUT_PENALTY_BPS || newConfig.maxPendingPerWorker == 0
                || newConfig.maxPendingPerWorker > MAX_PENDING_PER_WORKER_LIMIT
        ) revert InvalidConfig();
        // Checked: after 65,535 changes governance needs a new router.
        uint16 version = _configVersion + 1;
        _configs[version] = newConfig;
        _configVersion = version;
        emit ConfigUpdated(version, newConfig);
    }

    function _setMaxInputBytes(uint32 newMax) private {
        if (newMax > MAX_INPUT_BYTES_LIMIT) revert InvalidConfig();
        maxInputBytes = uint24(newMax);
        emit MaxInputBytesUpdated(newMax);
    }

    function _setTreasury(address newTreasury) private {
        if (newTreasury == address(0)) revert ZeroAddress();
        treasury = newTreasury;
        emit TreasuryUpdated(newTreasury);
    }
}
