// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IAgentRouter
/// @notice Requests to AI agents, their signed fulfilment by TEE workers, and fee settlement.
interface IAgentRouter {
    /// @notice Everything about a request. Only keccak256(abi.encode(request)) is stored; the full
    /// struct travels in the {AgentRequested} event and back in {fulfill}/{timeout} calldata.
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
    }

    /// @notice A worker's signed answer. The EIP-712 struct signed by the worker's enclave key is
    /// Fulfillment(uint256 requestId,bytes32 requestHash,bytes32 outputHash,uint16 status,uint256[] subAgentIds,address worker)
    /// where requestHash = keccak256(abi.encode(request)) (it commits to input hash and code hash).
    struct Fulfillment {
        AgentRequest request;
        uint16 status;
        bytes output;
        uint256[] subAgentIds;
        bytes signature;
    }

    /// @notice One signed answer, as evidence in {reportEquivocation}.
    struct SignedAnswer {
        bytes32 outputHash;
        uint16 status;
        uint256[] subAgentIds;
        bytes signature;
    }

    /// @notice Emitted for every new request with all the bridge needs.
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

    /// @notice A {timeoutBatch} entry was skipped because its request was no longer pending.
    event TimeoutSkipped(uint256 indexed requestId);

    /// @notice Proof that `worker` signed two different answers to `requestId` was accepted.
    event EquivocationReported(uint256 indexed requestId, address indexed worker, address indexed reporter, uint256 slashed);

    /// @notice Opens a request to `agentId`, paid from billing account `accountId` (caller must be
    /// an allowed consumer of it); `maxFee` is reserved until settlement.
    /// @param keyEpoch 0 for a plaintext input, else the cluster-key epoch `input` is encrypted to.
    function request(
        uint64 accountId,
        uint256 agentId,
        bytes calldata input,
        uint32 keyEpoch,
        uint32 callbackGasLimit,
        uint96 maxFee
    ) external returns (uint256 requestId);

    /// @notice Settles one request with its assigned worker's signed answer.
    function fulfill(Fulfillment calldata fulfillment) external;

    /// @notice Settles many requests; entries whose request is no longer pending are skipped.
    function fulfillBatch(Fulfillment[] calldata fulfillments) external;

    /// @notice After the deadline, refunds an unanswered request and slashes its worker.
    function timeout(AgentRequest calldata request) external;

    /// @notice {timeout} for many requests; entries whose request is no longer pending are skipped
    /// ({TimeoutSkipped}), any other failing entry reverts the whole batch.
    function timeoutBatch(AgentRequest[] calldata requests) external;

    /// @notice Slashes and jails the worker that signed both `a` and `b` (different answers) for `request`.
    function reportEquivocation(AgentRequest calldata request, SignedAnswer calldata a, SignedAnswer calldata b)
        external;

    /// @notice True while `requestId` awaits fulfilment or timeout.
    function isPending(uint256 requestId) external view returns (bool);

    /// @notice The minimum `maxFee` a request to `agentId` with `callbackGasLimit` needs now.
    function estimateFee(uint256 agentId, uint32 callbackGasLimit) external view returns (uint256);

    /// @notice Workers' fees accrued for `worker` that the staking side may collect.
    function workerFees(address worker) external view returns (uint256);

    /// @notice Transfers `worker`'s accrued fees to the staking contract; only staking may call it.
    function collectWorkerFees(address worker) external returns (uint256 amount);
}
