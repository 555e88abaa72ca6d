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
    function requestTerms(uint256 agentId, address caller) external view returns (RequestTerms memory);

    /// @notice True when `measurement` may run `agentId` (its allowlist, or any approved one if open).
    function isMeasurementAllowed(uint256 agentId, bytes32 measurement) external view returns (bool);

    /// @notice The current owner and price of `agentId` (zero owner when unknown).
    function ownerAndPrice(uint256 agentId) external view returns (address owner, uint96 price);

    /// @notice The code of `agentId` at `version`.
    function codeOf(uint256 agentId, uint32 version) external view returns (bytes32 codeHash, string memory uri);

    /// @notice The latest code version of `agentId` (what sub-agent calls run).
    function currentCode(uint256 agentId)
        external
        view
        returns (uint32 version, bytes32 codeHash, string memory uri);

    /// @notice The agent owner's secrets, encrypted to the cluster key of `keyEpoch` (empty if none).
    function secretsOf(uint256 agentId) external view returns (uint32 keyEpoch, bytes memory ciphertext);
}
