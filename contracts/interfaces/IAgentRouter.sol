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

    /// @notice Emitted for every new request with all the bridge needs.
    event AgentRequested(
        uint256 indexed requestId, uint256 indexed agentId, address indexed worker, AgentRequest request, bytes input
    );

    /// @notice Workers' fees accrued for `worker` that the staking side may collect.
    function workerFees(address worker) external view returns (uint256);

    /// @notice Transfers `worker`'s accrued fees to the staking contract; only staking may call it.
    function collectWorkerFees(address worker) external returns (uint256 amount);
}
