// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IAgentRouter
/// @notice Requests to AI agents, their signed fulfilment by TEE workers, and fee settlement.
interface IAgentRouter {
    /// @notice Everything about a request. Only keccak256(abi.encode(request)) is stored; the full
    /// struct travels in the {AgentRequested} event and back in {fulfill}/{timeout} calldata.
    /// `configVersion` names the router's fee terms (worker fee, PHA per gas, protocol fee, overhead)
    /// in force when the request was opened: it settles on those, whatever governance sets later.
    /// `maxFee` is the caller's whole reservation; `capacityFee`, part of it, is the relay capacity's
    /// price at request time, paid to the protocol with the answer and refunded if the request times out.
    struct AgentRequest {
        uint256 id;
        uint256 agentId;
        address consumer;
        uint64 accountId;
        address worker;
        uint32 agentVersion;
        uint32 keyEpoch;
        uint32 callbackGasLimit;
        address agentOwner;
        uint96 agentPrice;
        uint96 maxFee;
        uint64 deadline;
        bytes32 codeHash;
        bytes32 inputHash;
        uint16 configVersion;
        uint96 capacityFee;
    }

    /// @notice A worker's signed answer. The EIP-712 struct signed by the worker's enclave key is
    /// Fulfillment(uint256 requestId,bytes32 requestHash,bytes32 outputHash,uint16 status,uint256[] subAgentIds,uint96[] subAgentPrices,address worker)
    /// where requestHash = keccak256(abi.encode(request)) (it commits to input hash and code hash).
    /// `subAgentIds` lists the agents called on the way and `subAgentPrices` the price the worker
    /// budgeted for each call: a callee is paid at most that.
    struct Fulfillment {
        AgentRequest request;
        uint16 status;
        bytes output;
        uint256[] subAgentIds;
        uint96[] subAgentPrices;
        bytes signature;
    }

    /// @notice One signed answer, as evidence in {reportEquivocation}.
    struct SignedAnswer {
        bytes32 outputHash;
        uint16 status;
        uint256[] subAgentIds;
        uint96[] subAgentPrices;
        bytes signature;
    }

    /// @notice Emitted for every new request with all the bridge needs.
    /// @notice Lifecycle of a request, see {requestStatus}.
    enum RequestStatus {
        Unknown,
        Pending,
        Answered,
        TimedOut
    }

    event AgentRequested(
        uint256 indexed requestId, uint256 indexed agentId, address indexed worker, AgentRequest request, bytes input
    );

    /// @notice A request was answered and settled. `totalFee` left the reservation; `refund` went back.
    event RequestFulfilled(
        uint256 indexed requestId,
        address indexed worker,
        uint16 status,
        bool callbackSucceeded,
        bytes32 outputHash,
        uint256 totalFee,
        uint256 refund
    );

    /// @notice A request passed its deadline unanswered: the reservation was refunded in full.
    event RequestTimedOut(uint256 indexed requestId, address indexed worker, address indexed caller, uint256 refund);

    /// @notice A batch entry was skipped because its request was no longer pending (already settled).
    event FulfillmentSkipped(uint256 indexed requestId);

    /// @notice A batch entry was skipped, its request left pending (to be timed out), for a reason that
    /// can arise after the relayer built the batch: `reason` is the selector of the error a single
    /// {fulfill} reverts with (`DeadlinePassed` or `WorkerBanned`).
    event FulfillmentRejected(uint256 indexed requestId, bytes4 reason);

    /// @notice Backup `backup` (rank `rank`) answered `requestId` in place of its `primary`, whose pool
    /// was slashed `penalty` (to the treasury) for missing its window; see {fulfillAsBackup}.
    event BackupAnswered(
        uint256 indexed requestId, address indexed primary, address indexed backup, uint256 rank, uint256 penalty
    );

    /// @notice A {timeoutBatch} entry was skipped because its request was no longer pending.
    event TimeoutSkipped(uint256 indexed requestId);

    /// @notice Proof that `worker` signed two different answers to `requestId` was accepted.
    event EquivocationReported(uint256 indexed requestId, address indexed worker, address indexed reporter, uint256 slashed);

    event MaxInputBytesUpdated(uint32 maxInputBytes);
    event StakingUpdated(address indexed staking);
    event KeyRegistryUpdated(address indexed keyRegistry);
    event TreasuryUpdated(address indexed treasury);
    event RelayGasPerSecondUpdated(uint64 relayGasPerSecond);
    event CapacityPriceUpdated(uint64 capacityPrice);
    /// @dev The output's hash, not the output: a log costs 8 gas per byte, which the reservation
    /// would otherwise have to cover for every answer. The output is in the fulfil transaction.
    event CallbackFailed(uint256 indexed requestId, bytes32 outputHash);
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
    error WorkersBusy(uint256 agentId);
    /// @notice The relay gas of the pending requests and this one is more than relayers can put on
    /// chain before this one's deadline (relayGasPerSecond * requestTimeout). Nothing was reserved.
    error RelayCapacityFull(uint256 pendingRelayGas, uint256 requestRelayGas, uint256 maxPendingRelayGas);
    error StakingNotSet();
    error StakingAlreadySet();
    error InsufficientGasForSlash(uint256 slashGas);
    error RequestNotPending(uint256 requestId);
    error UnknownRequest(uint256 requestId);
    error RequestMismatch(uint256 requestId);
    error DeadlinePassed(uint256 requestId, uint64 deadline);
    error DeadlineNotPassed(uint256 requestId, uint64 deadline);
    error WrongSigner(uint256 requestId, address signer, address worker);
    error WorkerBanned(uint256 requestId, address worker);
    error UnknownAgent(uint256 agentId);
    error TooManySubCalls(uint256 count);
    error OutputTooLarge(uint256 requestId, uint256 length);
    error SubCallPricesMismatch(uint256 subAgentIds, uint256 subAgentPrices);
    error NonCanonicalCalldata();
    /// @notice Backup `rank` of `requestId` may answer only from `opensAt` (see {backupWorker}).
    error BackupWindowNotOpen(uint256 requestId, uint64 opensAt);
    /// @notice `rank` is not 1 to MAX_BACKUPS, or no eligible worker distinct from the lower ranks could be drawn.
    error NoBackup(uint256 requestId, uint256 rank);
    error NotEquivocation(uint256 requestId);
    error EquivocationAlreadyReported(uint256 requestId);
    error NotStaking(address caller);
    error NothingToWithdraw();
    error EnforcedPause();
    error ExpectedPause();

    /// @notice Opens a request to `agentId`, paid from billing account `accountId` (caller must be
    /// an allowed consumer of it); `maxFee` is reserved until settlement.
    /// @param accountId The billing account that pays.
    /// @param agentId The agent to run.
    /// @param input The agent's input (plaintext, or encrypted to the cluster key of `keyEpoch`).
    /// @param keyEpoch 0 for a plaintext input, else the cluster-key epoch `input` is encrypted to.
    /// @param callbackGasLimit Exact gas the consumer's {IAgentConsumer-onAgentResponse} gets.
    /// @param maxFee Most PHA the request may cost, reserved from the account until settlement (the
    /// unused part and, on a timeout, all of it refunded). At least the fee now, which rises with each
    /// request the router holds: {estimateFee} quotes with headroom so that requests landing first do
    /// not make this one revert {MaxFeeTooLow}.
    /// @return requestId The new request's id.
    function request(
        uint64 accountId,
        uint256 agentId,
        bytes calldata input,
        uint32 keyEpoch,
        uint32 callbackGasLimit,
        uint96 maxFee
    ) external returns (uint256 requestId);

    /// @notice Settles one request with its assigned worker's signed answer.
    /// @param fulfillment The request as opened, the answer and the worker's EIP-712 signature.
    function fulfill(Fulfillment calldata fulfillment) external;

    /// @notice Settles many requests. Entries whose request is no longer pending are skipped
    /// ({FulfillmentSkipped}), and so are entries past their deadline or by a banned worker
    /// ({FulfillmentRejected}); any other bad entry (wrong signature, tampered request) reverts it all.
    /// @param fulfillments Answers to settle, each as in {fulfill}.
    function fulfillBatch(Fulfillment[] calldata fulfillments) external;

    /// @notice Settles a pending request with the answer of its backup `rank`, once that backup's
    /// window has opened (a share of the request timeout, see {backupWorker}) and before the deadline.
    /// The answer is signed as in {fulfill} with `worker` = the backup's address. The backup's pool
    /// earns the worker fee; the primary's pending slot is released and its pool slashed the request's
    /// timeout penalty, all of it to the treasury ({BackupAnswered}).
    /// @param fulfillment The request as opened, the answer and the backup's EIP-712 signature.
    /// @param rank The backup's rank, 1 to MAX_BACKUPS.
    function fulfillAsBackup(Fulfillment calldata fulfillment, uint256 rank) external;

    /// @notice Backup `rank` of a request and when its window opens. Drawn stake-weighted from the
    /// seed keccak256(requestHash, rank) (re-hashed on a miss, a bounded number of times) among workers
    /// eligible for the agent's measurements, not banned, distinct from the primary and lower ranks.
    /// Read from the staking side's current weights: a stake change may change the draw.
    /// @param req The request as opened (must be pending).
    /// @param rank 1 to MAX_BACKUPS.
    /// @return worker The backup.
    /// @return opensAt Time from which it may answer.
    function backupWorker(AgentRequest calldata req, uint256 rank)
        external
        view
        returns (address worker, uint64 opensAt);

    /// @notice After the deadline, refunds an unanswered request in full (its whole `maxFee`, the
    /// capacity fee included) and slashes its worker the miss penalty plus the request's capacity fee.
    /// @param request The request as opened (from its {AgentRequested} event).
    function timeout(AgentRequest calldata request) external;

    /// @notice {timeout} for many requests; entries whose request is no longer pending are skipped
    /// ({TimeoutSkipped}), any other failing entry reverts the whole batch.
    /// @param requests Requests as opened, each as in {timeout}.
    function timeoutBatch(AgentRequest[] calldata requests) external;

    /// @notice Slashes and jails the worker that signed both `a` and `b` (different answers) for `request`.
    /// @param request The request as opened.
    /// @param a One answer the assigned worker signed.
    /// @param b Another, different answer it signed.
    function reportEquivocation(AgentRequest calldata request, SignedAnswer calldata a, SignedAnswer calldata b)
        external;

    /// @notice {reportEquivocation} for any worker's key, a backup's in particular: slashes and jails
    /// `worker` for signing both `a` and `b` (different answers naming itself) for `request`. Once per
    /// request and worker; provable after settlement, as the commitment stays.
    /// @param request The request as opened.
    /// @param worker The worker key that signed both answers (registered or since deregistered).
    /// @param a One answer it signed.
    /// @param b Another, different answer it signed.
    function reportBackupEquivocation(
        AgentRequest calldata request,
        address worker,
        SignedAnswer calldata a,
        SignedAnswer calldata b
    ) external;

    /// @notice True while `requestId` awaits fulfilment or timeout.
    /// @param requestId The request.
    /// @return Whether it is still pending.
    function isPending(uint256 requestId) external view returns (bool);

    /// @notice Where request `requestId` stands: never opened, awaiting an answer or a timeout, answered
    /// (fulfilled, whatever the status it carried) or timed out (refunded).
    /// @param requestId The request.
    /// @return Its status.
    function requestStatus(uint256 requestId) external view returns (RequestStatus);

    /// @notice A `maxFee` for a request to `agentId` with `callbackGasLimit`, with headroom: the least
    /// settlement needs plus the capacity fee priced as if an eighth of the relay capacity more were
    /// held than now (QUOTE_HEADROOM_SHIFT), so the request still goes through when others land first.
    /// {request} accepts less (down to the fee now, which {MaxFeeTooLow} reports); what is unused is
    /// refunded at settlement.
    /// @param agentId The agent.
    /// @param callbackGasLimit The callback gas limit the request would set.
    /// @return A `maxFee` that {request} accepts now and after other requests holding up to an eighth
    /// of the relay capacity.
    function estimateFee(uint256 agentId, uint32 callbackGasLimit) external view returns (uint256);

    /// @notice Workers' fees accrued for `worker` that the staking side may collect.
    /// @param worker The worker.
    /// @return PHA accrued and not yet collected.
    function workerFees(address worker) external view returns (uint256);

    /// @notice Transfers `worker`'s accrued fees to the staking contract; only staking may call it.
    /// Also says in which mining epoch (UTC day, see WorkerFeeBook) that work was done, for the
    /// mining reserve: `current` + `previous` ≤ `amount`, the rest was earned earlier.
    /// @param worker The worker whose fees are collected.
    /// @return amount PHA transferred to the staking contract.
    /// @return current Of which earned in the epoch now.
    /// @return previous Of which earned in the epoch before.
    function collectWorkerFees(address worker) external returns (uint256 amount, uint256 current, uint256 previous);
}
