// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {IAgentRouter} from "../interfaces/IAgentRouter.sol";
import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";
import {IAgentConsumer} from "../interfaces/IAgentConsumer.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";
import {IWorkerStaking} from "../interfaces/IWorkerStaking.sol";
import {IKeyRegistry} from "../interfaces/IKeyRegistry.sol";
import {AgentStatus} from "./AgentStatus.sol";
import {BillingAccounts} from "./BillingAccounts.sol";
import {ExactGasCall} from "./ExactGasCall.sol";

/// @title AgentRouter
/// @notice Entry point of the agent network. Consumers open requests paid from billing accounts;
/// the router assigns a stake-weighted worker, keeps only a commitment, and settles the worker's
/// EIP-712-signed answer: consumer callback with an exact gas limit, then fees to the agent owner,
/// sub-agent owners, the worker's pool, the protocol and the relayer (gas at a governance-set
/// PHA-per-gas rate), refunding the rest. Unanswered requests are refunded after their deadline and
/// the worker slashed; workers that sign two different answers are slashed hard and jailed.
contract AgentRouter is IAgentRouter, BillingAccounts, EIP712, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @dev Workers a batch has already found not banned.
    struct WorkerCache {
        address[] workers;
        uint256 count;
    }

    /// @notice Fee and limit parameters; one storage slot.
    struct Config {
        uint80 workerFee; // PHA to the worker's pool per settled request
        uint64 phaPerGas; // PHA (wei) reimbursed to the relayer per unit of gas
        uint16 protocolFeeBps; // share of (agent price + worker fee) to the treasury
        uint32 fulfillOverheadGas; // gas of a fulfil transaction outside the metered part
        uint32 maxCallbackGasLimit;
        uint32 requestTimeout; // seconds from request to deadline
    }

    bytes32 public constant FULFILLMENT_TYPEHASH = keccak256(
        "Fulfillment(uint256 requestId,bytes32 requestHash,bytes32 outputHash,uint16 status,uint256[] subAgentIds,address worker)"
    );
    uint256 public constant BPS = 10_000;
    uint16 public constant MAX_PROTOCOL_FEE_BPS = 2_000;
    uint32 public constant MIN_REQUEST_TIMEOUT = 30;
    uint32 public constant MAX_REQUEST_TIMEOUT = 1 days;
    uint32 public constant MAX_CALLBACK_GAS_LIMIT = 5_000_000;
    /// @notice Sampling attempts before giving up when sampled workers cannot serve the agent.
    uint256 public constant MAX_ASSIGNMENT_ATTEMPTS = 8;
    /// @notice Calldata gas per byte charged to the relayer's metered overhead (EIP-2028, non-zero bytes).
    uint256 public constant CALLDATA_GAS_PER_BYTE = 16;
    /// @notice Sub-agent calls one fulfilment may list.
    uint256 public constant MAX_SUB_CALLS = 16;
    /// @notice Gas of a fulfilment's metered work outside the callback (signature check, settlement,
    /// about 1 KB of output calldata), added to the fee estimate so relayers are reimbursed in full.
    /// Measured with `npm run bench:gas`; unused reservation is refunded.
    uint256 public constant ESTIMATED_FULFIL_EXECUTION_GAS = 60_000;
    /// @dev abi.encode(AgentRequest) is 14 static words.
    uint256 private constant REQUEST_ENCODED_SIZE = 14 * 32;
    /// @dev Stored in a fee balance that owes nothing but was used before; see {_earnings}.
    uint256 private constant PAID_OUT_MARKER = 1;
    /// @dev Distinct workers whose ban status a batch remembers; later ones are checked per answer.
    uint256 private constant BATCH_WORKER_CACHE_SIZE = 16;

    IAgentRegistry public immutable agentRegistry;
    IWorkerRegistry public immutable workerRegistry;

    /// @dev staking, the request counter, the pause flag and maxInputBytes share one slot: a request
    /// reads and writes it once. 2^56 requests outlast any chain.
    IWorkerStaking public staking;
    uint56 private _requestCount;
    bool private _paused;
    uint32 public maxInputBytes;
    Config private _config;
    IKeyRegistry public keyRegistry;
    address public treasury;

    mapping(uint256 requestId => bytes32) private _commitments;
    mapping(uint256 requestId => bool) public equivocationReported;
    /// @dev The three balances below hold what is owed plus {PAID_OUT_MARKER} once ever credited: paying
    /// out leaves the slot non-zero, so the next credit rewrites a slot (2,900 gas) instead of
    /// creating one (20,000 gas). Read them through {earnings}, {workerFees} and {protocolFees}.
    mapping(address account => uint256) private _earnings;
    mapping(address worker => uint256) private _workerFees;
    uint256 private _protocolFees = PAID_OUT_MARKER;

    event ConfigUpdated(Config config);
    event MaxInputBytesUpdated(uint32 maxInputBytes);
    event StakingUpdated(address indexed staking);
    event KeyRegistryUpdated(address indexed keyRegistry);
    event TreasuryUpdated(address indexed treasury);
    event CallbackFailed(uint256 indexed requestId, bytes output);
    event SubAgentPaid(uint256 indexed requestId, uint256 indexed agentId, address indexed owner, uint256 amount);
    event SlashFailed(uint256 indexed requestId, address indexed worker);
    event EarningsWithdrawn(address indexed account, address indexed to, uint256 amount);
    event WorkerFeesCollected(address indexed worker, uint256 amount);
    event ProtocolFeesWithdrawn(address indexed treasury, uint256 amount);
    /// @dev Same signatures as OpenZeppelin's Pausable, whose flag would cost a slot of its own.
    event Paused(address account);
    event Unpaused(address account);

    error InvalidConfig();
    error ConsumerNotAllowed(uint64 accountId, address consumer);
    error CallbackGasLimitTooHigh(uint32 callbackGasLimit, uint32 max);
    error InputTooLarge(uint256 length, uint256 max);
    error KeyEpochNotUsable(uint32 keyEpoch);
    error MaxFeeTooLow(uint256 maxFee, uint256 required);
    error NoEligibleWorker(uint256 agentId);
    error StakingNotSet();
    error RequestNotPending(uint256 requestId);
    error RequestMismatch(uint256 requestId);
    error DeadlinePassed(uint256 requestId, uint64 deadline);
    error DeadlineNotPassed(uint256 requestId, uint64 deadline);
    error WrongSigner(uint256 requestId, address signer, address worker);
    error WorkerBanned(uint256 requestId, address worker);
    error UnknownAgent(uint256 agentId);
    error TooManySubCalls(uint256 count);
    error NotEquivocation(uint256 requestId);
    error EquivocationAlreadyReported(uint256 requestId);
    error NotStaking(address caller);
    error NothingToWithdraw();
    error EnforcedPause();
    error ExpectedPause();

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
        Config memory config = _config;
        if (!isConsumer[accountId][msg.sender]) revert ConsumerNotAllowed(accountId, msg.sender);
        if (callbackGasLimit > config.maxCallbackGasLimit) {
            revert CallbackGasLimitTooHigh(callbackGasLimit, config.maxCallbackGasLimit);
        }
        if (input.length > maxInputBytes) revert InputTooLarge(input.length, maxInputBytes);
        if (keyEpoch != 0) _requireUsableEpoch(keyEpoch);

        IAgentRegistry.RequestTerms memory terms = agentRegistry.requestTerms(agentId, msg.sender);
        uint256 required = _minimumFee(terms.price, callbackGasLimit, config);
        if (maxFee < required) revert MaxFeeTooLow(maxFee, required);
        _reserve(accountId, maxFee);

        requestId = ++_requestCount;
        address worker = _assignWorker(requestId, agentId, terms.anyMeasurement);
        AgentRequest memory req = AgentRequest({
            id: requestId,
            agentId: agentId,
            consumer: msg.sender,
            accountId: accountId,
            worker: worker,
            agentVersion: terms.version,
            keyEpoch: keyEpoch,
            callbackGasLimit: callbackGasLimit,
            agentOwner: terms.owner,
            agentPrice: terms.price,
            maxFee: maxFee,
            deadline: uint64(block.timestamp) + config.requestTimeout,
            codeHash: terms.codeHash,
            inputHash: keccak256(input)
        });
        _commitments[requestId] = keccak256(abi.encode(req));
        emit AgentRequested(requestId, agentId, worker, req, input);
    }

    /// @inheritdoc IAgentRouter
    function fulfill(Fulfillment calldata fulfillment) external nonReentrant {
        uint256 startGas = gasleft();
        Config memory config = _config;
        uint256 overhead = config.fulfillOverheadGas + msg.data.length * CALLDATA_GAS_PER_BYTE;
        WorkerCache memory noCache;
        (uint256 protocolFee, uint256 relayerFee) = _fulfillOne(
            fulfillment, _commitments[fulfillment.request.id], config, startGas, overhead, noCache
        );
        _creditTransactionFees(protocolFee, relayerFee);
    }

    /// @inheritdoc IAgentRouter
    /// @dev A worker's ban status is read once per batch (for up to {BATCH_WORKER_CACHE_SIZE} distinct
    /// workers): a key jailed or revoked by a consumer's callback in the middle of the batch is refused
    /// from the next transaction on.
    function fulfillBatch(Fulfillment[] calldata fulfillments) external nonReentrant {
        Config memory config = _config;
        uint256 count = fulfillments.length;
        if (count == 0) return;
        uint256 overheadShare = (config.fulfillOverheadGas + msg.data.length * CALLDATA_GAS_PER_BYTE) / count;
        uint256 totalProtocolFee;
        uint256 totalRelayerFee;
        WorkerCache memory cache = WorkerCache(new address[](BATCH_WORKER_CACHE_SIZE), 0);
        uint256 freeMemory = _freeMemoryPointer();
        for (uint256 i; i < count; ++i) {
            // Nothing one answer allocates outlives it: reusing that memory keeps expansion flat.
            _setFreeMemoryPointer(freeMemory);
            (uint256 protocolFee, uint256 relayerFee) = _fulfillBatchEntry(fulfillments[i], config, overheadShare, cache);
            totalProtocolFee += protocolFee;
            totalRelayerFee += relayerFee;
        }
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
            if (_commitments[req.id] == bytes32(0)) {
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
        if (equivocationReported[req.id]) revert EquivocationAlreadyReported(req.id);
        bytes32 requestHash = _hashRequest(req);
        bytes32 digestA = _fulfillmentDigest(req.id, requestHash, a.outputHash, a.status, a.subAgentIds, req.worker);
        bytes32 digestB = _fulfillmentDigest(req.id, requestHash, b.outputHash, b.status, b.subAgentIds, req.worker);
        if (digestA == digestB) revert NotEquivocation(req.id);
        _requireSigner(req.id, digestA, a.signature, req.worker);
        _requireSigner(req.id, digestB, b.signature, req.worker);

        equivocationReported[req.id] = true;
        workerRegistry.jail(req.worker);
        uint256 slashed;
        IWorkerStaking staking_ = staking;
        if (address(staking_) != address(0)) {
            try staking_.slashForEquivocation(req.worker, req.id, msg.sender) returns (uint256 amount) {
                slashed = amount;
            } catch {
                emit SlashFailed(req.id, req.worker);
            }
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
        amount = _owed(_workerFees[worker]);
        if (amount == 0) return 0;
        _workerFees[worker] = PAID_OUT_MARKER;
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
        return _owed(_workerFees[worker]);
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
        return _commitments[requestId] != bytes32(0);
    }

    /// @notice The stored commitment keccak256(abi.encode(request)) of a pending request (zero otherwise).
    function commitmentOf(uint256 requestId) external view returns (bytes32) {
        return _commitments[requestId];
    }

    /// @inheritdoc IAgentRouter
    function estimateFee(uint256 agentId, uint32 callbackGasLimit) external view returns (uint256) {
        (address owner, uint96 price) = agentRegistry.ownerAndPrice(agentId);
        if (owner == address(0)) revert UnknownAgent(agentId);
        return _minimumFee(price, callbackGasLimit, _config);
    }

    /// @notice Current fee and limit parameters.
    function feeConfig() external view returns (Config memory) {
        return _config;
    }

    /// @notice The EIP-712 digest a worker signs for an answer.
    function fulfillmentDigest(
        uint256 requestId,
        bytes32 requestHash,
        bytes32 outputHash,
        uint16 status,
        uint256[] calldata subAgentIds,
        address worker
    ) external view returns (bytes32) {
        return _fulfillmentDigest(requestId, requestHash, outputHash, status, subAgentIds, worker);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Governance: sets fees and limits (bounded).
    function setConfig(Config calldata newConfig) external onlyOwner {
        _setConfig(newConfig);
    }

    /// @notice Governance: sets the largest accepted request input.
    function setMaxInputBytes(uint32 newMax) external onlyOwner {
        _setMaxInputBytes(newMax);
    }

    /// @notice Governance: sets the staking contract (worker sampling, slashing, fee collection).
    function setStaking(IWorkerStaking newStaking) external onlyOwner {
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

    /// @dev Refunds an unanswered request in full after its deadline and slashes its worker; the
    /// single path of {timeout} and {timeoutBatch}.
    function _timeout(AgentRequest calldata req) private {
        _requirePending(req);
        if (block.timestamp <= req.deadline) revert DeadlineNotPassed(req.id, req.deadline);
        delete _commitments[req.id];
        _settleAccount(req.accountId, req.maxFee, 0);
        emit RequestTimedOut(req.id, req.worker, msg.sender, req.maxFee);

        IWorkerStaking staking_ = staking;
        if (address(staking_) != address(0)) {
            try staking_.slashForTimeout(req.worker, req.id, accountOwner[req.accountId], msg.sender) {}
            catch {
                emit SlashFailed(req.id, req.worker);
            }
        }
    }

    /// @dev Settles one batch entry, or skips it (no fees) when its request is no longer pending.
    function _fulfillBatchEntry(
        Fulfillment calldata fulfillment,
        Config memory config,
        uint256 overheadShare,
        WorkerCache memory cache
    ) private returns (uint256 protocolFee, uint256 relayerFee) {
        uint256 startGas = gasleft();
        uint256 requestId = fulfillment.request.id;
        bytes32 commitment = _commitments[requestId];
        if (commitment == bytes32(0)) {
            emit FulfillmentSkipped(requestId);
            return (0, 0);
        }
        return _fulfillOne(fulfillment, commitment, config, startGas, overheadShare, cache);
    }

    function _fulfillOne(
        Fulfillment calldata fulfillment,
        bytes32 commitment,
        Config memory config,
        uint256 startGas,
        uint256 overhead,
        WorkerCache memory cache
    ) private returns (uint256 protocolFee, uint256 relayerFee) {
        (AgentRequest memory req, uint16 status, bytes32 outputHash) = _verifyAnswer(fulfillment, commitment, cache);
        delete _commitments[req.id];

        bool callbackSucceeded = _callConsumer(req, status, fulfillment.output);

        uint256 remaining;
        (protocolFee, remaining) = _payFees(req, status, fulfillment.subAgentIds, config);
        relayerFee = _min((startGas - gasleft() + overhead) * config.phaPerGas, remaining);
        remaining -= relayerFee;

        uint256 totalFee = req.maxFee - remaining;
        _settleAccount(req.accountId, req.maxFee, totalFee);
        emit RequestFulfilled(req.id, req.worker, status, callbackSucceeded, outputHash, totalFee, remaining);
    }

    /// @dev The consumer's callback with exactly the gas it asked for; its failure never blocks settlement.
    function _callConsumer(AgentRequest memory req, uint16 status, bytes calldata output)
        private
        returns (bool succeeded)
    {
        succeeded = ExactGasCall.call(req.consumer, req.callbackGasLimit, _onAgentResponseCall(req.id, status, output));
        if (!succeeded) emit CallbackFailed(req.id, output);
    }

    /// @dev Checks the answer is for a pending request, in time, signed by its assigned worker.
    function _verifyAnswer(Fulfillment calldata fulfillment, bytes32 commitment, WorkerCache memory cache)
        private
        view
        returns (AgentRequest memory req, uint16 status, bytes32 outputHash)
    {
        bytes32 requestHash;
        (req, requestHash) = _loadPending(fulfillment.request, commitment);
        status = fulfillment.status;
        if (block.timestamp > req.deadline) revert DeadlinePassed(req.id, req.deadline);
        uint256[] calldata subAgentIds = fulfillment.subAgentIds;
        if (subAgentIds.length > MAX_SUB_CALLS) revert TooManySubCalls(subAgentIds.length);
        bytes calldata output = fulfillment.output;
        outputHash = _calldataHash(output);
        bytes32 digest = _fulfillmentDigest(req.id, requestHash, outputHash, status, subAgentIds, req.worker);
        _requireSigner(req.id, digest, fulfillment.signature, req.worker);
        _requireNotBanned(req.id, req.worker, cache);
    }

    /// @dev A jailed (equivocating) or revoked (compromised) key's answers are refused; the request
    /// then times out and is refunded in full. Workers found clean are remembered in `cache`.
    function _requireNotBanned(uint256 requestId, address worker, WorkerCache memory cache) private view {
        address[] memory known = cache.workers;
        uint256 count = cache.count;
        for (uint256 i; i < count; ++i) {
            if (known[i] == worker) return;
        }
        if (workerRegistry.isBanned(worker)) revert WorkerBanned(requestId, worker);
        if (count < known.length) {
            known[count] = worker;
            cache.count = count + 1;
        }
    }

    /// @dev Takes fees in priority order, each capped by what is left of the reservation, so a
    /// governance change between request and answer can never make settlement revert.
    function _payFees(AgentRequest memory req, uint16 status, uint256[] calldata subAgentIds, Config memory config)
        private
        returns (uint256 protocolFee, uint256 remaining)
    {
        remaining = req.maxFee;
        uint256 workerFee = _min(config.workerFee, remaining);
        remaining -= workerFee;
        _accrue(_workerFees, req.worker, workerFee);
        uint256 agentFee;
        if (status == AgentStatus.OK) {
            agentFee = _min(req.agentPrice, remaining);
            remaining -= agentFee;
            _accrue(_earnings, req.agentOwner, agentFee);
        }
        protocolFee = _min((agentFee + workerFee) * config.protocolFeeBps / BPS, remaining);
        remaining -= protocolFee;
        if (status == AgentStatus.OK && subAgentIds.length != 0) {
            remaining = _paySubAgents(req.id, subAgentIds, remaining);
        }
    }

    function _paySubAgents(uint256 requestId, uint256[] calldata subAgentIds, uint256 remaining)
        private
        returns (uint256)
    {
        for (uint256 i; i < subAgentIds.length && remaining != 0; ++i) {
            (address owner, uint96 price) = agentRegistry.ownerAndPrice(subAgentIds[i]);
            if (owner == address(0)) continue;
            uint256 amount = _min(price, remaining);
            remaining -= amount;
            _accrue(_earnings, owner, amount);
            emit SubAgentPaid(requestId, subAgentIds[i], owner, amount);
        }
        return remaining;
    }

    function _assignWorker(uint256 requestId, uint256 agentId, bool anyMeasurement) private view returns (address) {
        IWorkerStaking staking_ = staking;
        if (address(staking_) == address(0)) revert StakingNotSet();
        // prevrandao is unknown to a requester before its block is built; see DESIGN.md for the limits.
        uint256 seed = uint256(keccak256(abi.encode(block.prevrandao, requestId, msg.sender)));
        for (uint256 attempt; attempt < MAX_ASSIGNMENT_ATTEMPTS; ++attempt) {
            address worker = staking_.sampleWorker(seed);
            if (worker == address(0)) break;
            bytes32 measurement = workerRegistry.activeMeasurementOf(worker);
            if (
                measurement != bytes32(0)
                    && (anyMeasurement || agentRegistry.isMeasurementAllowed(agentId, measurement))
            ) return worker;
            seed = uint256(keccak256(abi.encode(seed)));
        }
        revert NoEligibleWorker(agentId);
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

    /// @dev Copies the request to memory and checks it against its commitment. Its memory layout is
    /// its abi.encode, so the copy hashes in place; a match proves every field is cleanly encoded.
    function _loadPending(AgentRequest calldata encoded, bytes32 commitment)
        private
        pure
        returns (AgentRequest memory req, bytes32 requestHash)
    {
        uint256 size = REQUEST_ENCODED_SIZE;
        assembly ("memory-safe") {
            req := mload(0x40)
            calldatacopy(req, encoded, size)
            mstore(0x40, add(req, size))
            requestHash := keccak256(req, size)
        }
        if (commitment == bytes32(0)) revert RequestNotPending(req.id);
        if (commitment != requestHash) revert RequestMismatch(req.id);
    }

    function _accrue(mapping(address => uint256) storage balances, address to, uint256 amount) private {
        if (amount == 0) return;
        uint256 stored = balances[to];
        balances[to] = (stored == 0 ? PAID_OUT_MARKER : stored) + amount;
    }

    function _owed(uint256 stored) private pure returns (uint256) {
        return stored == 0 ? 0 : stored - PAID_OUT_MARKER;
    }

    function _requirePending(AgentRequest calldata req) private view returns (bytes32 requestHash) {
        bytes32 commitment = _commitments[req.id];
        if (commitment == bytes32(0)) revert RequestNotPending(req.id);
        requestHash = _hashRequest(req);
        if (commitment != requestHash) revert RequestMismatch(req.id);
    }

    /// @dev keccak256(abi.encode(req)) read straight from calldata: AgentRequest has only static
    /// fields, so its calldata encoding is exactly its abi.encode. Dirty padding can only produce a
    /// different hash (a mismatch), never accept a different request.
    function _hashRequest(AgentRequest calldata req) private pure returns (bytes32 requestHash) {
        uint256 size = REQUEST_ENCODED_SIZE;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, req, size)
            requestHash := keccak256(ptr, size)
        }
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

    /// @dev EIP-712 hash of Fulfillment, encoded in unallocated memory (nothing is kept).
    function _fulfillmentDigest(
        uint256 requestId,
        bytes32 requestHash,
        bytes32 outputHash,
        uint16 status,
        uint256[] calldata subAgentIds,
        address worker
    ) private view returns (bytes32) {
        bytes32 typeHash = FULFILLMENT_TYPEHASH;
        bytes32 structHash;
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            let idsSize := shl(5, subAgentIds.length)
            calldatacopy(ptr, subAgentIds.offset, idsSize)
            let idsHash := keccak256(ptr, idsSize)
            mstore(ptr, typeHash)
            mstore(add(ptr, 0x20), requestId)
            mstore(add(ptr, 0x40), requestHash)
            mstore(add(ptr, 0x60), outputHash)
            mstore(add(ptr, 0x80), and(status, 0xffff))
            mstore(add(ptr, 0xa0), idsHash)
            mstore(add(ptr, 0xc0), and(worker, 0xffffffffffffffffffffffffffffffffffffffff))
            structHash := keccak256(ptr, 0xe0)
        }
        return _hashTypedDataV4(structHash);
    }

    function _calldataHash(bytes calldata data) private pure returns (bytes32 hash) {
        assembly ("memory-safe") {
            let ptr := mload(0x40)
            calldatacopy(ptr, data.offset, data.length)
            hash := keccak256(ptr, data.length)
        }
    }

    /// @dev abi.encodeCall(IAgentConsumer.onAgentResponse, (requestId, status, output)) in one copy.
    function _onAgentResponseCall(uint256 requestId, uint16 status, bytes calldata output)
        private
        pure
        returns (bytes memory data)
    {
        bytes4 selector = IAgentConsumer.onAgentResponse.selector;
        assembly ("memory-safe") {
            data := mload(0x40)
            let length := output.length
            let padded := and(add(length, 31), not(31))
            // selector | requestId | status | offset of output (3 words) | length | output, zero-padded
            mstore(data, add(0x84, padded))
            mstore(add(data, 0x20), selector)
            mstore(add(data, 0x24), requestId)
            mstore(add(data, 0x44), and(status, 0xffff))
            mstore(add(data, 0x64), 0x60)
            mstore(add(data, add(0x84, padded)), 0)
            mstore(add(data, 0x84), length)
            calldatacopy(add(data, 0xa4), output.offset, length)
            mstore(0x40, add(data, add(0xa4, padded)))
        }
    }

    function _freeMemoryPointer() private pure returns (uint256 pointer) {
        assembly ("memory-safe") {
            pointer := mload(0x40)
        }
    }

    function _setFreeMemoryPointer(uint256 pointer) private pure {
        assembly ("memory-safe") {
            mstore(0x40, pointer)
        }
    }

    function _minimumFee(uint256 price, uint32 callbackGasLimit, Config memory config) private pure returns (uint256) {
        uint256 base = price + config.workerFee;
        return base + base * config.protocolFeeBps / BPS
            + (uint256(callbackGasLimit) + config.fulfillOverheadGas + ESTIMATED_FULFIL_EXECUTION_GAS) * config.phaPerGas;
    }

    function _setConfig(Config memory newConfig) private {
        if (
            newConfig.protocolFeeBps > MAX_PROTOCOL_FEE_BPS || newConfig.requestTimeout < MIN_REQUEST_TIMEOUT
                || newConfig.requestTimeout > MAX_REQUEST_TIMEOUT || newConfig.maxCallbackGasLimit > MAX_CALLBACK_GAS_LIMIT
        ) revert InvalidConfig();
        _config = newConfig;
        emit ConfigUpdated(newConfig);
    }

    function _setMaxInputBytes(uint32 newMax) private {
        maxInputBytes = newMax;
        emit MaxInputBytesUpdated(newMax);
    }

    function _setTreasury(address newTreasury) private {
        if (newTreasury == address(0)) revert ZeroAddress();
        treasury = newTreasury;
        emit TreasuryUpdated(newTreasury);
    }

    function _min(uint256 a, uint256 b) private pure returns (uint256) {
        return a < b ? a : b;
    }
}
