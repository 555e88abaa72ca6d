// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IAgentRouter} from "../interfaces/IAgentRouter.sol";
import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";
import {IWorkerStaking} from "../interfaces/IWorkerStaking.sol";
import {IKeyRegistry} from "../interfaces/IKeyRegistry.sol";
import {AgentStatus} from "./AgentStatus.sol";
import {AgentRouterState} from "./AgentRouterState.sol";
import {WorkerFeeBook} from "./lib/WorkerFeeBook.sol";
import {AgentRouterExtension} from "./AgentRouterExtension.sol";
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
/// PHA-per-gas rate), refunding the rest. If the worker is silent, its backups (drawn from the
/// request, {backupWorker}) may answer once their windows open ({fulfillAsBackup}): the backup is
/// paid the worker fee and the silent worker slashed. Unanswered requests are refunded after their
/// deadline and the worker slashed; workers that sign two different answers are slashed hard and jailed.
/// @dev Storage and shared bookkeeping live in {AgentRouterState}; the cold paths (timeouts,
/// equivocation proofs, governance, the backups' draw and handover) in {AgentRouterExtension},
/// deployed by the constructor and DELEGATECALLed (the draw, a view, is STATICCALLed).
contract AgentRouter is IAgentRouter, AgentRouterState {
    using SafeERC20 for IERC20;

    /// @dev What the answers of one fulfil transaction share: the workers already found not banned,
    /// and whether an answer refused for a reason that may arise after the relayer simulated its
    /// transaction (deadline passed, key banned) is skipped (a batch) or reverts (a single fulfil);
    /// the answers in the transaction, which share its fixed overhead; for {fulfillAsBackup}, the
    /// backup answering and its rank (zero for the primary).
    struct Settling {
        address[] cleanWorkers;
        uint256 cleanCount;
        bool batch;
        uint256 count;
        address backup;
        uint256 rank;
    }

    /// @dev Distinct workers whose ban status a batch remembers; later ones are checked per answer.
    uint256 private constant BATCH_WORKER_CACHE_SIZE = 16;
    /// @dev fulfill(Fulfillment): selector and the struct's offset, then the struct.
    uint256 private constant FULFILL_HEADER = 4 + 32;
    /// @dev fulfillAsBackup(Fulfillment,uint256): selector, the struct's offset and the rank, then the struct.
    uint256 private constant BACKUP_HEADER = 4 + 32 + 32;
    /// @dev fulfillBatch(Fulfillment[]): selector, the array's offset and length, then its offsets.
    uint256 private constant BATCH_HEADER = 4 + 32 + 32;

    /// @notice The code of the cold paths ({timeout}, {timeoutBatch}, {reportEquivocation} and the
    /// governance setters), run on this storage.
    address public immutable extension;

    constructor(
        IERC20 pha_,
        IAgentRegistry agentRegistry_,
        IWorkerRegistry workerRegistry_,
        address initialOwner,
        address treasury_,
        Config memory config_,
        uint32 maxInputBytes_
    ) AgentRouterState(pha_, agentRegistry_, workerRegistry_, initialOwner) {
        extension = address(new AgentRouterExtension(pha_, agentRegistry_, workerRegistry_));
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
        single.count = 1;
        (uint256 protocolFee, uint256 relayerFee) = _fulfillOne(
            fulfillment, _pendingCommitment(fulfillment.request.id), startGas + CalldataCost.gasOf(0, msg.data.length), single
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
        Settling memory batch = Settling(new address[](BATCH_WORKER_CACHE_SIZE), 0, true, count, address(0), 0);
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
                _fulfillBatchEntry(fulfillments[i], startGas + calldataGas + headShare, batch);
            totalProtocolFee += protocolFee;
            totalRelayerFee += relayerFee;
        }
        if (msg.data.length != BATCH_HEADER + next) revert NonCanonicalCalldata();
        _creditTransactionFees(totalProtocolFee, totalRelayerFee);
    }

    /// @inheritdoc IAgentRouter
    /// @dev Canonical calldata only, billed as in {fulfill}; the relayer is reimbursed the whole
    /// metered transaction (the draw and the primary's slash included) from the reservation.
    function fulfillAsBackup(Fulfillment calldata fulfillment, uint256 rank) external nonReentrant {
        uint256 startGas = gasleft();
        if (_calldataAt(fulfillment) != BACKUP_HEADER || msg.data.length != BACKUP_HEADER + _encodedSize(BACKUP_HEADER)) {
            revert NonCanonicalCalldata();
        }
        AgentRequest calldata req = fulfillment.request;
        bytes32 commitment = _pendingCommitment(req.id);
        bytes32 requestHash = RequestCodec.hash(req);
        _requireCommitment(req.id, commitment, requestHash);
        uint64 opensAt = _backupOpensAt(req.id, req.deadline, req.configVersion, rank);
        if (block.timestamp < opensAt) revert BackupWindowNotOpen(req.id, opensAt);
        Settling memory settling;
        settling.count = 1;
        settling.backup = _drawBackup(req, requestHash, rank);
        settling.rank = rank;
        (uint256 protocolFee, uint256 relayerFee) =
            _fulfillOne(fulfillment, commitment, startGas + CalldataCost.gasOf(0, msg.data.length), settling);
        _creditTransactionFees(protocolFee, relayerFee);
    }

    /// @inheritdoc IAgentRouter
    function timeout(AgentRequest calldata) external nonReentrant {
        _runExtension();
    }

    /// @inheritdoc IAgentRouter
    function timeoutBatch(AgentRequest[] calldata) external nonReentrant {
        _runExtension();
    }

    /// @inheritdoc IAgentRouter
    function reportEquivocation(AgentRequest calldata, SignedAnswer calldata, SignedAnswer calldata)
        external
        nonReentrant
    {
        _runExtension();
    }

    /// @inheritdoc IAgentRouter
    function reportBackupEquivocation(AgentRequest calldata, address, SignedAnswer calldata, SignedAnswer calldata)
        external
        nonReentrant
    {
        _runExtension();
    }

    // ---------------------------------------------------------------- earnings

    /// @notice Withdraws the caller's earnings (agent prices, relayer gas reimbursement) to `to`.
    /// @param to Receiver of the PHA.
    function withdrawEarnings(address to) external nonReentrant {
        if (to == address(0)) revert ZeroAddress();
        uint256 amount = _owed(_earnings[msg.sender]);
        if (amount == 0) revert NothingToWithdraw();
        _earnings[msg.sender] = PAID_OUT_MARKER;
        emit EarningsWithdrawn(msg.sender, to, amount);
        pha.safeTransfer(to, amount);
    }

    /// @inheritdoc IAgentRouter
    function collectWorkerFees(address worker)
        external
        nonReentrant
        returns (uint256 amount, uint256 current, uint256 previous)
    {
        if (msg.sender != address(staking)) revert NotStaking(msg.sender);
        uint256 kept;
        (kept, amount, current, previous) = WorkerFeeBook.collect(_workerBooks[worker]);
        if (amount == 0) return (0, 0, 0);
        _workerBooks[worker] = kept;
        emit WorkerFeesCollected(worker, amount);
        pha.safeTransfer(msg.sender, amount);
    }

    /// @notice Sends accrued protocol fees to the treasury; anyone may trigger it.
    function withdrawProtocolFees() external nonReentrant {
        uint256 book = _protocolBook;
        uint256 amount = _owed(uint128(book));
        if (amount == 0) revert NothingToWithdraw();
        _protocolBook = book - amount;
        emit ProtocolFeesWithdrawn(treasury, amount);
        pha.safeTransfer(treasury, amount);
    }

    // ---------------------------------------------------------------- views

    /// @notice PHA owed to `account` (agent prices, relayer gas reimbursement), withdrawn with {withdrawEarnings}.
    /// @param account Agent owner or relayer.
    /// @return PHA wei owed.
    function earnings(address account) external view returns (uint256) {
        return _owed(_earnings[account]);
    }

    /// @inheritdoc IAgentRouter
    function workerFees(address worker) external view returns (uint256) {
        return WorkerFeeBook.owed(_workerBooks[worker]);
    }

    /// @notice Requests assigned to `worker` and not yet answered or timed out.
    /// @param worker The worker.
    /// @return Number of its open requests.
    function pendingOf(address worker) external view returns (uint256) {
        return _pendingCount(_workerBooks[worker]);
    }

    /// @notice Relay gas (see {_relayGas}) of all requests not yet answered or timed out; new
    /// requests are refused past relayGasPerSecond * requestTimeout.
    /// @return Gas units.
    function pendingRelayGas() external view returns (uint256) {
        return uint48(_protocolBook >> RELAY_GAS_SHIFT);
    }

    /// @notice Gas per second relayers are assumed to put on chain for this router.
    /// @return Gas units per second.
    function relayGasPerSecond() external view returns (uint64) {
        return uint32(_protocolBook >> RELAY_RATE_SHIFT);
    }

    /// @notice PHA per relay gas per second of request timeout charged at full relay capacity (see
    /// {_capacityFee}); the capacity fee of a request is this times its relay gas, the timeout and
    /// the fourth power of the utilisation with it admitted.
    /// @return PHA wei per gas-second.
    function capacityPrice() external view returns (uint64) {
        return uint64(_protocolBook >> CAPACITY_PRICE_SHIFT);
    }

    /// @notice Protocol fees not yet sent to the treasury.
    /// @return PHA wei.
    function protocolFees() external view returns (uint256) {
        return _owed(uint128(_protocolBook));
    }

    /// @notice Number of requests made; request ids run from 1.
    /// @return Requests made so far (the latest request id).
    function requestCount() external view returns (uint64) {
        return _requestCount;
    }

    /// @notice True while new requests are refused.
    /// @return Whether the router is paused.
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
    /// @param requestId The request.
    /// @return The commitment, or zero.
    function commitmentOf(uint256 requestId) external view returns (bytes32) {
        return _commitments[requestId];
    }

    /// @inheritdoc IAgentRouter
    function backupWorker(AgentRequest calldata req, uint256 rank)
        external
        view
        returns (address worker, uint64 opensAt)
    {
        bytes32 requestHash = RequestCodec.hash(req);
        _requireCommitment(req.id, _pendingCommitment(req.id), requestHash);
        opensAt = _backupOpensAt(req.id, req.deadline, req.configVersion, rank);
        worker = _drawBackup(req, requestHash, rank);
    }

    /// @inheritdoc IAgentRouter
    function estimateFee(uint256 agentId, uint32 callbackGasLimit) external view returns (uint256) {
        (address owner, uint96 price) = agentRegistry.ownerAndPrice(agentId);
        if (owner == address(0)) revert UnknownAgent(agentId);
        Config memory config = _configs[_configVersion];
        uint256 relayGas = _relayGas(callbackGasLimit, config);
        (uint256 capacityFee,,) = _capacityFee(_protocolBook, relayGas, config.requestTimeout, true);
        return _minimumFee(price, relayGas, config) + capacityFee;
    }

    /// @notice Current fee and limit parameters, the terms of new requests.
    /// @return The config of the current version.
    function feeConfig() external view returns (Config memory) {
        return _configs[_configVersion];
    }

    /// @notice The current config version, recorded in each new request as `configVersion`.
    /// @return The version number.
    function configVersion() external view returns (uint16) {
        return _configVersion;
    }

    /// @notice The terms of config `version`, those its requests settle on (zero if never set).
    /// @param version A config version.
    /// @return Its config.
    function configAt(uint16 version) external view returns (Config memory) {
        return _configs[version];
    }

    /// @notice The EIP-712 digest a worker signs for an answer.
    /// @param requestId The request answered.
    /// @param requestHash Its commitment keccak256(abi.encode(request)).
    /// @param outputHash keccak256 of the answer's output.
    /// @param status The answer's status (as in Fulfillment.status).
    /// @param subAgentIds Agents called on the way, in call order.
    /// @param subAgentPrices Price the worker budgeted for each call, PHA wei (a callee is paid at most that).
    /// @param worker The worker answering.
    /// @return The digest to sign.
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
    function setConfig(Config calldata) external {
        _runExtension();
    }

    /// @notice Governance: sets the largest accepted request input.
    function setMaxInputBytes(uint32) external {
        _runExtension();
    }

    /// @notice Governance: wires the staking contract (worker sampling, slashing, fee collection), once.
    function setStaking(IWorkerStaking) external {
        _runExtension();
    }

    /// @notice Governance: sets the key registry that validates confidential inputs' epochs.
    function setKeyRegistry(IKeyRegistry) external {
        _runExtension();
    }

    /// @notice Governance: sets the relay gas per second the chain carries for this router's answers.
    function setRelayGasPerSecond(uint64) external {
        _runExtension();
    }

    /// @notice Governance: sets the price of the relay capacity at full utilisation.
    function setCapacityPrice(uint64) external {
        _runExtension();
    }

    /// @notice Governance: sets where protocol fees go.
    function setTreasury(address) external {
        _runExtension();
    }

    /// @notice Governance: stops new requests; settlement, timeouts and withdrawals keep working.
    function pause() external {
        _runExtension();
    }

    /// @notice Governance: accepts new requests again.
    function unpause() external {
        _runExtension();
    }

    // ---------------------------------------------------------------- internals

    /// @dev Runs this call's function of {extension} on this storage, its revert bubbled up unchanged.
    /// The functions it serves return nothing; returning here (not from assembly) lets the
    /// reentrancy lock be released.
    function _runExtension() private {
        _delegate(msg.data);
    }

    /// @dev Runs `data` on {extension} on this storage, its revert bubbled up unchanged.
    function _delegate(bytes memory data) private {
        (bool ok, bytes memory reason) = extension.delegatecall(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
    }

    /// @dev Backup `rank` of `req` (whose commitment is checked), drawn by the extension's
    /// {AgentRouterExtension-drawBackup}: a cold path, kept out of the router's code.
    function _drawBackup(AgentRequest calldata req, bytes32 requestHash, uint256 rank) private view returns (address) {
        uint256 openedAt = req.deadline - _configs[req.configVersion].requestTimeout;
        return AgentRouterExtension(extension).drawBackup(
            staking, req.id, req.agentId, req.worker, requestHash, openedAt, rank
        );
    }

    /// @dev Reserves `maxFee`, assigns a worker and stores the commitment of the new request, on the
    /// agent's current terms and the current config version. The capacity fee is priced now (at the
    /// utilisation with the request admitted) and carried in the request: charged with its answer,
    /// refunded with the rest of the reservation if it times out.
    function _openRequest(
        uint64 accountId,
        uint256 agentId,
        bytes32 inputHash,
        uint32 keyEpoch,
        uint32 callbackGasLimit,
        uint96 maxFee
    ) private returns (AgentRequest memory req) {
        uint256 capacityFee;
        uint16 version = _configVersion;
        Config memory config = _configs[version];
        if (callbackGasLimit > config.maxCallbackGasLimit) {
            revert CallbackGasLimitTooHigh(callbackGasLimit, config.maxCallbackGasLimit);
        }
        IAgentRegistry.RequestTerms memory terms = agentRegistry.requestTerms(agentId, msg.sender);
        {
            uint256 relayGas = _relayGas(callbackGasLimit, config);
            capacityFee = _reserveRelayGas(relayGas, config.requestTimeout);
            uint256 required = _minimumFee(terms.price, relayGas, config) + capacityFee;
            if (maxFee < required) revert MaxFeeTooLow(maxFee, required);
            _reserve(accountId, maxFee);
        }

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
            configVersion: version,
            // Below maxFee (it is part of `required`), so it fits 96 bits.
            capacityFee: uint96(capacityFee)
        });
        _commitments[requestId] = keccak256(abi.encode(req));
    }

    /// @dev Settles one batch entry, or skips it (no fees) when its request is no longer pending.
    function _fulfillBatchEntry(
        Fulfillment calldata fulfillment,
        uint256 meterBase,
        Settling memory batch
    ) private returns (uint256 protocolFee, uint256 relayerFee) {
        uint256 requestId = fulfillment.request.id;
        bytes32 commitment = _pendingCommitment(requestId);
        if (commitment == bytes32(0)) {
            emit FulfillmentSkipped(requestId);
            return (0, 0);
        }
        return _fulfillOne(fulfillment, commitment, meterBase, batch);
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
            // Head: 16 request words and the status, then the offsets of output, subAgentIds,
            // subAgentPrices and signature (words 17 to 20); the tails follow in that order. Every
            // offset is checked equal to where the canonical encoding puts its tail. `at` grows by
            // lengths checked below (< 2^32 bytes, < 2^16 words); if one is out of range, `at` may
            // be garbage but `canonical` is already false and the function reverts. A read past the
            // calldata's end gives zero, so nothing here can read out of bounds.
            let at := 0x2a0
            // output's offset: right after the 21-word head.
            canonical := eq(calldataload(add(start, 0x220)), at)
            let length := calldataload(add(start, at))
            // Bytes rounded up to whole words (the ABI pads to 32); `length` is bounded below.
            let padded := and(add(length, 31), not(31))
            // Bytes of the output in its last word (0: the output ends on a word boundary).
            let partialWord := and(length, 31)
            // The last word's bytes past the output are zero (its data is left-aligned): shifting
            // it left by the `partialWord` data bytes leaves only the padding, which must be zero.
            canonical :=
                and(
                    and(canonical, lt(length, 0x100000000)),
                    or(iszero(partialWord), iszero(shl(shl(3, partialWord), calldataload(add(add(start, at), padded)))))
                )
            // Past output: its length word and its padded bytes.
            at := add(at, add(0x20, padded))
            // subAgentIds: offset, then a length below 2^16 and that many words after it.
            canonical := and(canonical, eq(calldataload(add(start, 0x240)), at))
            let count := calldataload(add(start, at))
            canonical := and(canonical, lt(count, 0x10000))
            // Past the array: (count + 1) words, the length word included.
            at := add(at, shl(5, add(count, 1)))
            // subAgentPrices, the same.
            canonical := and(canonical, eq(calldataload(add(start, 0x260)), at))
            count := calldataload(add(start, at))
            canonical := and(canonical, lt(count, 0x10000))
            at := add(at, shl(5, add(count, 1)))
            // signature: bytes like output, shorter than 2^16.
            canonical := and(canonical, eq(calldataload(add(start, 0x280)), at))
            length := calldataload(add(start, at))
            padded := and(add(length, 31), not(31))
            partialWord := and(length, 31)
            canonical :=
                and(
                    and(canonical, lt(length, 0x10000)),
                    or(iszero(partialWord), iszero(shl(shl(3, partialWord), calldataload(add(add(start, at), padded)))))
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
    /// `settling.count`-th of the config's fixed transaction overhead. A batch entry refused for a reason that
    /// could arise after the relayer's simulation is skipped with {FulfillmentRejected}, no fees.
    function _fulfillOne(
        Fulfillment calldata fulfillment,
        bytes32 commitment,
        uint256 meterBase,
        Settling memory settling
    ) private returns (uint256 protocolFee, uint256 relayerFee) {
        (AgentRequest memory req, uint16 status, bytes32 outputHash, bytes4 refusal) =
            _verifyAnswer(fulfillment, commitment, settling);
        if (refusal != bytes4(0)) {
            emit FulfillmentRejected(req.id, refusal);
            return (0, 0);
        }
        _markSettled(req.id, ANSWERED);
        // The worker fee goes to whoever answered: the assigned worker, or the backup after its handover.
        address answerer = req.worker;
        if (settling.backup != address(0)) answerer = _handOver(req, settling);

        bool callbackSucceeded = _callConsumer(req, status, fulfillment.output, outputHash);

        uint256 refund;
        (protocolFee, relayerFee, refund) = _charge(req, status, fulfillment, meterBase, settling);
        emit RequestFulfilled(req.id, answerer, status, callbackSucceeded, outputHash, req.maxFee - refund, refund);
    }

    /// @dev A backup answers: {AgentRouterExtension-handOver} releases the primary and slashes it.
    function _handOver(AgentRequest memory req, Settling memory settling) private returns (address backup) {
        backup = settling.backup;
        _delegate(
            abi.encodeCall(AgentRouterExtension.handOver, (req.id, req.worker, req.configVersion, backup, settling.rank))
        );
    }

    /// @dev Pays everyone from the reservation on the terms of the request's config version, the
    /// relayer last (gas metered until here), and releases the reservation; `refund` stays with the
    /// account.
    function _charge(
        AgentRequest memory req,
        uint16 status,
        Fulfillment calldata fulfillment,
        uint256 meterBase,
        Settling memory settling
    ) private returns (uint256 protocolFee, uint256 relayerFee, uint256 refund) {
        Config memory config = _configs[req.configVersion];
        (protocolFee, refund) = _payFees(req, settling.backup, status, fulfillment, config);
        relayerFee =
            Math.min((meterBase - gasleft() + config.fulfillOverheadGas / settling.count) * config.phaPerGas, refund);
        refund -= relayerFee;
        _settleAccount(req.accountId, req.maxFee, req.maxFee - refund);
        // The request leaves the relay capacity with the protocol fee's write (see {_creditTransactionFees}).
        protocolFee += _relayGas(req.callbackGasLimit, config) << RELAY_GAS_SHIFT;
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
        address worker = settling.backup;
        if (worker == address(0)) worker = req.worker;
        _requireSigner(req.id, _answerDigest(fulfillment, req, requestHash, outputHash, worker), fulfillment.signature, worker);
        if (_isBanned(worker, settling)) {
            if (settling.batch) return (req, status, outputHash, WorkerBanned.selector);
            revert WorkerBanned(req.id, worker);
        }
    }

    /// @dev The EIP-712 digest `worker` (the assigned one, or a backup) must have signed for `fulfillment`.
    function _answerDigest(
        Fulfillment calldata fulfillment,
        AgentRequest memory req,
        bytes32 requestHash,
        bytes32 outputHash,
        address worker
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
            worker
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
    /// The worker fee goes to the assigned worker, whose pending request it settles, or to `backup`
    /// (when not zero), on which the request was never counted.
    function _payFees(
        AgentRequest memory req,
        address backup,
        uint16 status,
        Fulfillment calldata fulfillment,
        Config memory config
    ) private returns (uint256 protocolFee, uint256 remaining) {
        // The capacity fee first: it is part of the least reservation (see {_openRequest}), so it is
        // always paid in full, however late the answer and whoever gives it. Unchecked: the request
        // matched its commitment, so capacityFee <= maxFee as {_openRequest} required, both < 2^96.
        unchecked {
            remaining = req.maxFee - req.capacityFee;
        }
        uint256 workerFee = Math.min(config.workerFee, remaining);
        remaining -= workerFee;
        if (backup == address(0)) _releaseWorker(req.worker, workerFee, ONE_PENDING);
        else _releaseWorker(backup, workerFee, 0);
        uint256 agentFee;
        if (status == AgentStatus.OK) {
            agentFee = Math.min(req.agentPrice, remaining);
            remaining -= agentFee;
            _accrue(_earnings, req.agentOwner, agentFee);
        }
        protocolFee = Math.min((agentFee + workerFee) * config.protocolFeeBps / BPS, remaining);
        remaining -= protocolFee;
        unchecked {
            // Both below maxFee < 2^96.
            protocolFee += req.capacityFee;
        }
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
                uint256 pending = _pendingCount(book);
                if (pending < maxPending) {
                    book += ONE_PENDING;
                    // Now full: the staking side stops sampling it until one of its requests settles.
                    if (pending + 1 == maxPending) book = _markFull(staking_, worker, book);
                    _workerBooks[worker] = book;
                    return worker;
                }
                // Full yet sampled: the cap was lowered since it filled. Marked, it is not drawn again.
                if (book & AT_CAPACITY == 0) _workerBooks[worker] = _markFull(staking_, worker, book);
                busy = true;
            }
            seed = uint256(keccak256(abi.encode(seed)));
        }
        if (busy) revert WorkersBusy(agentId);
        revert NoEligibleWorker(agentId);
    }

    function _markFull(IWorkerStaking staking_, address worker, uint256 book) private returns (uint256) {
        staking_.setWorkerFull(worker, true);
        return book | AT_CAPACITY;
    }

    function _pendingCount(uint256 book) private pure returns (uint256) {
        // The bits between the fees and {AT_CAPACITY}.
        return (book << 1) >> 225;
    }

    /// @dev Counts `relayGas` more against the relay capacity, or reverts {RelayCapacityFull}: the
    /// pending requests' relay gas may not exceed what relayers can put on chain within one request
    /// timeout, so no flood of requests can make honest workers miss deadlines. Returns the request's
    /// capacity fee ({_capacityFee}), priced now and paid with its answer: holding the capacity costs
    /// its holder, whoever answers and however late (docs/ARCHITECTURE.md, "Relay capacity").
    function _reserveRelayGas(uint256 relayGas, uint256 requestTimeout) private returns (uint256 capacityFee) {
        uint256 book = _protocolBook;
        uint256 pending;
        uint256 capacity;
        (capacityFee, pending, capacity) = _capacityFee(book, relayGas, requestTimeout, false);
        if (pending + relayGas > capacity) revert RelayCapacityFull(pending, relayGas, capacity);
        _protocolBook = book + (relayGas << RELAY_GAS_SHIFT);
    }

    /// @dev Reserves `amount` of the account for a new request.
    function _reserve(uint64 accountId, uint96 amount) private {
        Account memory account = _accounts[accountId];
        uint256 available = account.balance - account.reserved;
        if (available < amount) revert InsufficientBalance(accountId, available, amount);
        account.reserved += amount;
        ++account.pendingRequests;
        _accounts[accountId] = account;
    }

    /// @dev `bookCredit` sums the answers' protocol fees (low 128 bits) and the relay gas they release
    /// (above), as {_charge} returns them: one write of {_protocolBook} per transaction.
    function _creditTransactionFees(uint256 bookCredit, uint256 relayerFee) private {
        if (bookCredit != 0) {
            _protocolBook = _protocolBook + uint128(bookCredit) - ((bookCredit >> RELAY_GAS_SHIFT) << RELAY_GAS_SHIFT);
        }
        _accrue(_earnings, msg.sender, relayerFee);
    }

    function _owed(uint256 stored) private pure returns (uint256) {
        return stored == 0 ? 0 : stored - PAID_OUT_MARKER;
    }

    function _requireUsableEpoch(uint32 keyEpoch) private view {
        IKeyRegistry registry = keyRegistry;
        if (address(registry) == address(0) || !registry.isEpochUsable(keyEpoch)) revert KeyEpochNotUsable(keyEpoch);
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

    /// @dev The least reservation settlement needs (capacity fee aside): price, worker fee, protocol
    /// share and the relayer's gas.
    function _minimumFee(uint256 price, uint256 relayGas, Config memory config) private pure returns (uint256) {
        uint256 base = price + config.workerFee;
        return base + base * config.protocolFeeBps / BPS + relayGas * config.phaPerGas;
    }

}
