// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {Ownable, Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {ECDSA} from "@openzeppelin/contracts/utils/cryptography/ECDSA.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";
import {IWorkerStaking} from "../interfaces/IWorkerStaking.sol";
import {IKeyRegistry} from "../interfaces/IKeyRegistry.sol";
import {IAgentRouter} from "../interfaces/IAgentRouter.sol";
import {BillingAccounts} from "./BillingAccounts.sol";
import {FulfillmentHash} from "./lib/FulfillmentHash.sol";
import {WorkerFeeBook} from "./lib/WorkerFeeBook.sol";

/// @title AgentRouterState
/// @notice The router's storage, parameters, errors and events, and the bookkeeping both of its code
/// halves use: {AgentRouter} (requests, answers, earnings, views) and {AgentRouterExtension}
/// (timeouts, equivocation proofs, governance), which the router runs by DELEGATECALL on this same
/// storage.
/// @dev Both halves inherit this contract and declare no state of their own, so their storage
/// layouts are this one by construction. Split because the router alone passed EIP-170's 24,576
/// bytes; the extension holds the cold paths, so the hot request/answer path pays no extra call.
abstract contract AgentRouterState is BillingAccounts, EIP712, Ownable2Step, ReentrancyGuardTransient {
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
    uint256 internal constant SLASH_CALL_OVERHEAD = 10_000;
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
    uint256 internal constant PAID_OUT_MARKER = 1;
    /// @dev A worker's book (see {_workerBooks}) holds its fees in the low 224 bits and its pending
    /// requests above them: adding this counts one more.
    uint256 internal constant ONE_PENDING = 1 << 224;
    /// @dev Top bit of a worker's book: set while the staking side has been told the worker is full
    /// (see {_assignWorker}); the pending count lives in the bits between it and the fees.
    uint256 internal constant AT_CAPACITY = 1 << 255;
    /// @dev {_protocolBook}: protocol fees below bit 128, pending relay gas from 128 (48 bits), the
    /// governed relay gas per second from 176 (32 bits) and capacity price from 208 (48 bits).
    uint256 internal constant RELAY_GAS_SHIFT = 128;
    uint256 internal constant RELAY_RATE_SHIFT = 176;
    uint256 internal constant CAPACITY_PRICE_SHIFT = 208;
    /// @notice Relay gas per second a new router assumes: half of what a 36M-gas, 12-second L1 block
    /// carries (3M gas/s), the rest left to everyone else. See docs/ARCHITECTURE.md, "Relay capacity".
    uint64 public constant DEFAULT_RELAY_GAS_PER_SECOND = 1_500_000;
    /// @notice Bound of {relayGasPerSecond}: far above any chain's throughput today (and below 2^32).
    uint64 public constant MAX_RELAY_GAS_PER_SECOND = 1_000_000_000;
    /// @notice Backups a request has, ranks 1 to this. Backup `rank` may answer from
    /// `BPS - BPS >> rank` of the request timeout on: rank 1 from 50 %, rank 2 from 75 %.
    uint256 public constant MAX_BACKUPS = 2;
    /// @notice Sampling attempts per backup rank before {IAgentRouter-NoBackup}: more than for the
    /// primary, as the primary and the lower ranks are drawn again and skipped (with one worker of 90 %
    /// of the stake as primary, 16 draws all miss the others with probability 0.9^16 = 18.5 %).
    uint256 public constant MAX_BACKUP_DRAWS = 16;
    /// @notice PHA (wei) per relay gas per second of request timeout a new router charges at full
    /// utilisation: holding the whole default capacity costs ~1,300 PHA an hour, a request at 10 %
    /// utilisation ~0.0002 PHA. See docs/ARCHITECTURE.md, "Relay capacity".
    uint64 public constant DEFAULT_CAPACITY_PRICE = 10_000_000_000;
    /// @notice {estimateFee} prices the capacity fee as if 2^-3 = an eighth of the relay capacity more
    /// were held than now: a max fee quoted with it survives other requests holding up to that much
    /// landing first (~10 of the longest callbacks, ~80 of the shortest, at the defaults). The unused
    /// part of a max fee is refunded at settlement, so the headroom costs the caller nothing.
    uint256 public constant QUOTE_HEADROOM_SHIFT = 3;

    /// @notice Bound of {capacityPrice}: a thousand times the default.
    uint64 public constant MAX_CAPACITY_PRICE = 10_000_000_000_000;
    /// @dev Values of a request's two bits in {_settled}.
    uint256 internal constant ANSWERED = 1;
    uint256 internal constant TIMED_OUT = 3;

    IAgentRegistry public immutable agentRegistry;
    IWorkerRegistry public immutable workerRegistry;

    /// @dev staking, the request counter, the pause flag, maxInputBytes and the current config version
    /// share one slot: a request reads and writes it once. 2^48 requests outlast any chain.
    IWorkerStaking public staking;
    uint48 internal _requestCount;
    bool internal _paused;
    uint24 public maxInputBytes;
    uint16 internal _configVersion;
    IKeyRegistry public keyRegistry;
    address public treasury;

    /// @dev Append-only: a version's terms never change once requests may refer to them.
    mapping(uint16 version => Config) internal _configs;

    /// @dev keccak256(abi.encode(request)) of every request ever opened. Kept after settlement so that
    /// an equivocation proof can always be checked against the request the router really issued.
    mapping(uint256 requestId => bytes32) internal _commitments;
    /// @dev Two bits per request, `2 * (id % 128)` and the one above it in word `id / 128`: the low one
    /// is set once request `id` is settled, the high one as well if it timed out. Consecutive ids share
    /// a word, so a batch writes one mostly warm slot.
    mapping(uint256 word => uint256 bits) internal _settled;
    mapping(uint256 requestId => bool) public equivocationReported;
    /// @dev Equivocations proven against workers other than a request's primary (its backups): once
    /// per request and worker, so that no report about one key can pre-empt the proof about another.
    mapping(uint256 requestId => mapping(address worker => bool)) internal _otherEquivocationReported;
    /// @dev The balances below hold what is owed plus {PAID_OUT_MARKER} once ever credited (a worker's
    /// book a used bit instead, see {WorkerFeeBook}): paying out leaves the slot non-zero, so the next
    /// credit rewrites a slot (2,900 gas) instead of creating one (20,000 gas). Read them through
    /// {earnings}, {workerFees} and {protocolFees}.
    mapping(address account => uint256) internal _earnings;
    /// @dev Per worker, one slot written by each of its requests, answers and timeouts: fees accrued
    /// for the staking side in the low 224 bits, by mining epoch ({WorkerFeeBook}: the current
    /// epoch's, the earlier ones', the day, a used marker as above; all the PHA there is fits in 90
    /// bits, so fees never carry into the count) and, above them, its requests not yet settled, at
    /// most the config's `maxPendingPerWorker` when one is assigned, and {AT_CAPACITY}.
    mapping(address worker => uint256) internal _workerBooks;
    /// @dev One slot, as every request and answer touches it: the protocol fees (plus
    /// {PAID_OUT_MARKER}) in the low 128 bits, the relay gas of all pending requests (see
    /// {_relayGas}; at most relayGasPerSecond * MAX_REQUEST_TIMEOUT < 2^47) from bit 128, the
    /// governed relay gas per second from bit 176 and the governed capacity price from bit 208.
    uint256 internal _protocolBook = PAID_OUT_MARKER | (uint256(DEFAULT_RELAY_GAS_PER_SECOND) << RELAY_RATE_SHIFT)
        | (uint256(DEFAULT_CAPACITY_PRICE) << CAPACITY_PRICE_SHIFT);

    /// @dev Declared with {Config}, which it carries; the router's other events and errors are in
    /// {IAgentRouter}, named through it here (this base and {AgentRouterExtension} do not implement it).
    event ConfigUpdated(uint16 indexed version, Config config);

    constructor(IERC20 pha_, IAgentRegistry agentRegistry_, IWorkerRegistry workerRegistry_, address initialOwner)
        BillingAccounts(pha_)
        EIP712("AgentRouter", "1")
        Ownable(initialOwner)
    {
        if (address(agentRegistry_) == address(0) || address(workerRegistry_) == address(0)) revert ZeroAddress();
        agentRegistry = agentRegistry_;
        workerRegistry = workerRegistry_;
    }

    /// @dev The commitment of `requestId` while it awaits an answer or a timeout, zero otherwise.
    function _pendingCommitment(uint256 requestId) internal view returns (bytes32 commitment) {
        commitment = _commitments[requestId];
        if (commitment != bytes32(0) && _settledState(requestId) != 0) commitment = bytes32(0);
    }

    /// @dev 0 while pending, else ANSWERED or TIMED_OUT.
    function _settledState(uint256 requestId) internal view returns (uint256) {
        return (_settled[requestId >> 7] >> ((requestId & 0x7f) << 1)) & 3;
    }

    function _markSettled(uint256 requestId, uint256 state) internal {
        _settled[requestId >> 7] |= state << ((requestId & 0x7f) << 1);
    }

    /// @dev Releases a reservation of `reserved`, of which `charged` left the account.
    function _settleAccount(uint64 accountId, uint96 reserved, uint256 charged) internal {
        Account memory account = _accounts[accountId];
        account.reserved -= reserved;
        account.balance -= uint96(charged);
        --account.pendingRequests;
        _accounts[accountId] = account;
    }

    /// @dev Settles one of `worker`'s requests: one fewer pending (it was counted when assigned, so
    /// the subtraction cannot underflow into {AT_CAPACITY}), `fee` more to collect, in one write. A
    /// worker the staking side was told is full has room again: it is told so, on this transition only.
    /// `released` is ONE_PENDING, or 0 for a backup, paid for a request that was never counted on it.
    function _releaseWorker(address worker, uint256 fee, uint256 released) internal {
        uint256 book = _workerBooks[worker];
        if (fee != 0) book = WorkerFeeBook.credit(book, fee);
        book -= released;
        if (released != 0 && book & AT_CAPACITY != 0) {
            book ^= AT_CAPACITY;
            // staking is set: the worker was assigned a request, so staking was wired before it.
            staking.setWorkerFull(worker, false);
        }
        _workerBooks[worker] = book;
    }

    /// @dev The slash of a worker that missed its part of request `requestId` (its deadline, or its
    /// window when a backup answered), sized by the request (`penalty`), `reward` of it to `reporter`
    /// and the rest to the treasury. Returns what was slashed; a failing staking side cannot block
    /// the settlement ({IAgentRouter-SlashFailed}), but no chosen gas limit can starve it.
    function _slashMissed(address worker, uint256 requestId, uint256 penalty, address reporter, uint256 reward)
        internal
        returns (uint256 slashed)
    {
        if (penalty == 0) return 0;
        _requireGasForSlash();
        // staking is set: the request exists, so staking was wired before it, and is never unset.
        try staking.slashForTimeout{gas: SLASH_GAS}(worker, requestId, penalty, reporter, reward) returns (uint256 amount) {
            slashed = amount;
        } catch {
            emit IAgentRouter.SlashFailed(requestId, worker);
        }
    }

    /// @dev A slash in a try/catch could otherwise be starved: with a gas limit chosen so that the
    /// call runs out while the 1/64 kept back (EIP-150) finishes the transaction, the caller would
    /// skip it. With SLASH_GAS guaranteed, only a genuine failure of the staking side is caught.
    function _requireGasForSlash() internal view {
        if (gasleft() < SLASH_GAS + SLASH_GAS / 63 + SLASH_CALL_OVERHEAD) revert IAgentRouter.InsufficientGasForSlash(SLASH_GAS);
    }

    /// @dev The request-sized penalty of a worker that missed its deadline or its window.
    function _missPenalty(Config memory config) internal pure returns (uint256) {
        return uint256(config.workerFee) * config.timeoutPenaltyBps / BPS;
    }

    /// @dev When backup `rank` of a request (deadline, config version) may answer: `BPS - BPS >> rank`
    /// of the timeout after the request was opened. Reverts {IAgentRouter-NoBackup} for a rank out of range.
    function _backupOpensAt(uint256 requestId, uint64 deadline, uint16 version, uint256 rank)
        internal
        view
        returns (uint64)
    {
        if (rank == 0 || rank > MAX_BACKUPS) revert IAgentRouter.NoBackup(requestId, rank);
        uint256 requestTimeout = _configs[version].requestTimeout;
        return uint64(deadline - requestTimeout + requestTimeout * (BPS - (BPS >> rank)) / BPS);
    }

    /// @dev Gas a relayer may need to settle a request: its callback, the longest output's calldata
    /// and handling, the metered execution and the transaction overhead. What {_minimumFee} reserves
    /// at `phaPerGas`, and what the request counts against the router's relay capacity while pending.
    function _relayGas(uint256 callbackGasLimit, Config memory config) internal pure returns (uint256) {
        return callbackGasLimit + config.fulfillOverheadGas + ESTIMATED_FULFIL_EXECUTION_GAS
            + MAX_OUTPUT_BYTES * OUTPUT_GAS_PER_BYTE;
    }

    /// @dev The non-refundable fee for holding `relayGas` of the relay capacity for a whole request
    /// timeout, when `pending` relay gas is held already, out of `book` ({_protocolBook}):
    /// relayGas * timeout * price * u^4, u the utilisation with the request admitted. Cheap while
    /// the router is mostly empty, steep near full; filling the capacity from empty costs a fifth of
    /// capacity * timeout * price (docs/ARCHITECTURE.md, "Relay capacity"). Also returns the capacity.
    /// `withHeadroom` prices it as if {QUOTE_HEADROOM_SHIFT}'s share of the capacity more were held:
    /// a quote that stays enough while other requests land first.
    function _capacityFee(uint256 book, uint256 relayGas, uint256 timeout, bool withHeadroom)
        internal
        pure
        returns (uint256 fee, uint256 pending, uint256 capacity)
    {
        pending = uint48(book >> RELAY_GAS_SHIFT);
        capacity = uint32(book >> RELAY_RATE_SHIFT) * timeout;
        if (withHeadroom) pending += capacity >> QUOTE_HEADROOM_SHIFT;
        // u in 1e18 units, at most 1 (a request past the capacity is refused anyway): nothing overflows.
        uint256 u = Math.min((pending + relayGas) * 1e18 / capacity, 1e18);
        u = u * u / 1e18;
        fee = relayGas * timeout * (book >> CAPACITY_PRICE_SHIFT) * (u * u / 1e18) / 1e18;
    }

    /// @dev The one check of a request passed in calldata: `commitment` (zero if none, or none
    /// pending) is the router's for `requestId`, and `requestHash` of the request given matches it.
    /// A match proves every field is the router's, cleanly encoded.
    function _requireCommitment(uint256 requestId, bytes32 commitment, bytes32 requestHash) internal pure {
        if (commitment == bytes32(0)) revert IAgentRouter.RequestNotPending(requestId);
        if (commitment != requestHash) revert IAgentRouter.RequestMismatch(requestId);
    }

    function _requireSigner(uint256 requestId, bytes32 digest, bytes calldata signature, address worker)
        internal
        pure
    {
        (address signer, ECDSA.RecoverError err,) = ECDSA.tryRecoverCalldata(digest, signature);
        if (err != ECDSA.RecoverError.NoError || signer != worker) revert IAgentRouter.WrongSigner(requestId, signer, worker);
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
    ) internal view returns (bytes32) {
        return _hashTypedDataV4(
            FulfillmentHash.structHash(
                requestId, requestHash, outputHash, status, subAgentIdsHash, subAgentPricesHash, worker
            )
        );
    }

    function _accrue(mapping(address => uint256) storage balances, address to, uint256 amount) internal {
        if (amount == 0) return;
        uint256 stored = balances[to];
        balances[to] = (stored == 0 ? PAID_OUT_MARKER : stored) + amount;
    }

    function _setConfig(Config memory newConfig) internal {
        if (
            newConfig.protocolFeeBps > MAX_PROTOCOL_FEE_BPS || newConfig.requestTimeout < MIN_REQUEST_TIMEOUT
                || newConfig.requestTimeout > MAX_REQUEST_TIMEOUT || newConfig.maxCallbackGasLimit > MAX_CALLBACK_GAS_LIMIT
                || newConfig.workerFee > MAX_WORKER_FEE || newConfig.phaPerGas > MAX_PHA_PER_GAS
                || newConfig.fulfillOverheadGas > MAX_FULFILL_OVERHEAD_GAS
                || newConfig.timeoutPenaltyBps > MAX_TIMEOUT_PENALTY_BPS || newConfig.maxPendingPerWorker == 0
                || newConfig.maxPendingPerWorker > MAX_PENDING_PER_WORKER_LIMIT
        ) revert IAgentRouter.InvalidConfig();
        // Checked: after 65,535 changes governance needs a new router.
        uint16 version = _configVersion + 1;
        _configs[version] = newConfig;
        _configVersion = version;
        emit ConfigUpdated(version, newConfig);
    }

    function _setMaxInputBytes(uint32 newMax) internal {
        if (newMax > MAX_INPUT_BYTES_LIMIT) revert IAgentRouter.InvalidConfig();
        maxInputBytes = uint24(newMax);
        emit IAgentRouter.MaxInputBytesUpdated(newMax);
    }

    function _setTreasury(address newTreasury) internal {
        if (newTreasury == address(0)) revert ZeroAddress();
        treasury = newTreasury;
        emit IAgentRouter.TreasuryUpdated(newTreasury);
    }
}
