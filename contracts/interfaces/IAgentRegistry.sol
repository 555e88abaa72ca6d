// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICommonErrors} from "./ICommonErrors.sol";

/// @title IAgentRegistry
/// @notice Agents as seen by the router and by workers.
interface IAgentRegistry is ICommonErrors {
    /// @notice What the router snapshots into a request.
    struct RequestTerms {
        address owner;
        uint96 price;
        bytes32 codeHash;
        uint32 version;
        bool anyMeasurement;
    }

    event AgentRegistered(uint256 indexed agentId, address indexed owner, uint96 price, bool openToAllCallers);
    event AgentCodeUpdated(uint256 indexed agentId, uint32 indexed version, bytes32 codeHash, string uri);
    event AgentPriceUpdated(uint256 indexed agentId, uint96 price);
    event AgentPaused(uint256 indexed agentId);
    event AgentUnpaused(uint256 indexed agentId);
    event AgentCallerPolicyUpdated(uint256 indexed agentId, bool openToAllCallers);
    event AgentCallerAllowed(uint256 indexed agentId, address indexed caller, bool allowed);
    event AgentMeasurementPolicyUpdated(uint256 indexed agentId, bool anyMeasurement);
    event AgentMeasurementAllowed(uint256 indexed agentId, bytes32 indexed measurement, bool allowed);
    event AgentSecretsUpdated(uint256 indexed agentId, uint32 keyEpoch, bytes32 ciphertextHash);
    event AgentOwnershipTransferStarted(uint256 indexed agentId, address indexed from, address indexed to);
    event AgentOwnershipTransferred(uint256 indexed agentId, address indexed from, address indexed to);

    error UnknownAgent(uint256 agentId);
    error NotAgentOwner(uint256 agentId, address caller);
    error NotPendingAgentOwner(uint256 agentId, address caller);
    error AgentIsPaused(uint256 agentId);
    error AgentNotPaused(uint256 agentId);
    error CallerNotAllowed(uint256 agentId, address caller);
    error EmptyCodeHash();
    error EmptyCodeURI();
    error UnknownCodeVersion(uint256 agentId, uint32 version);

    /// @notice Terms for `caller` to request `agentId`; reverts if unknown, paused or `caller` not allowed.
    /// @param agentId The agent requested.
    /// @param caller The consumer contract that would open the request.
    /// @return The agent's owner, price, current code and version, as a request records them.
    function requestTerms(uint256 agentId, address caller) external view returns (RequestTerms memory);

    /// @notice True when `measurement` may run `agentId` (its allowlist, or any approved one if open).
    /// @param agentId The agent.
    /// @param measurement The worker's TEE measurement.
    /// @return Whether a worker with that measurement may answer requests to the agent.
    function isMeasurementAllowed(uint256 agentId, bytes32 measurement) external view returns (bool);

    /// @notice The current owner and price of `agentId` (zero owner when unknown).
    /// @param agentId The agent.
    /// @return owner Who is paid the agent's price (zero when unknown).
    /// @return price PHA charged per request.
    function ownerAndPrice(uint256 agentId) external view returns (address owner, uint96 price);

    /// @notice The code of `agentId` at `version`.
    /// @param agentId The agent.
    /// @param version A code version (1 for the first).
    /// @return codeHash keccak256 of the agent's code bundle.
    /// @return uri Where the bundle is published.
    function codeOf(uint256 agentId, uint32 version) external view returns (bytes32 codeHash, string memory uri);

    /// @notice The latest code version of `agentId` (what sub-agent calls run).
    /// @param agentId The agent.
    /// @return version The latest code version.
    /// @return codeHash keccak256 of that version's bundle.
    /// @return uri Where that bundle is published.
    function currentCode(uint256 agentId)
        external
        view
        returns (uint32 version, bytes32 codeHash, string memory uri);

    /// @notice The agent owner's secrets, encrypted to the cluster key of `keyEpoch` (empty if none).
    /// @param agentId The agent.
    /// @return keyEpoch The cluster-key epoch the secrets are encrypted to (0 if none).
    /// @return ciphertext The encrypted secrets.
    function secretsOf(uint256 agentId) external view returns (uint32 keyEpoch, bytes memory ciphertext);
}
