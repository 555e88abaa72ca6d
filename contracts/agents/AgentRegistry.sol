// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";

/// @title AgentRegistry
/// @notice Registry of AI agents: code (hash + URI, versioned), price in PHA, which runtime
/// measurements may run the code, who may call it, pause, and two-step ownership hand-over.
/// @dev The owner of an agent may be any address: an EOA, a multisig, a DAO or a controller contract.
/// There is no governance here; an agent belongs to its owner alone.
contract AgentRegistry is IAgentRegistry {
    /// @dev Two storage slots: owner+price, then pending owner+version+flags; plus the current code hash.
    struct Agent {
        address owner;
        uint96 price;
        address pendingOwner;
        uint32 version;
        bool paused;
        bool openToAllCallers;
        bool anyMeasurement;
        bytes32 codeHash;
    }

    struct CodeVersion {
        bytes32 codeHash;
        string uri;
    }

    struct Secrets {
        uint32 keyEpoch;
        bytes ciphertext;
    }

    /// @notice Number of agents registered; agent ids run from 1 to agentCount.
    uint256 public agentCount;

    mapping(uint256 agentId => Agent) private _agents;
    mapping(uint256 agentId => mapping(uint32 version => CodeVersion)) private _code;
    mapping(uint256 agentId => mapping(address caller => bool)) private _allowedCallers;
    mapping(uint256 agentId => mapping(bytes32 measurement => bool)) private _allowedMeasurements;
    mapping(uint256 agentId => Secrets) private _secrets;

    modifier onlyAgentOwner(uint256 agentId) {
        address owner = _agents[agentId].owner;
        if (owner == address(0)) revert UnknownAgent(agentId);
        if (owner != msg.sender) revert NotAgentOwner(agentId, msg.sender);
        _;
    }

    /// @notice Registers a new agent owned by the caller, at code version 1.
    /// @param codeHash keccak256 of the bundled agent JavaScript.
    /// @param uri Where workers fetch the bundle (file:, http(s):, ...); checked against `codeHash`.
    /// @param price PHA paid to the owner for each successful request.
    /// @param measurements Runtime measurements allowed to run it; empty means any governance-approved one.
    /// @param openToAllCallers Whether any contract may request it (otherwise an allowlist).
    /// @return agentId The new agent's id.
    function registerAgent(
        bytes32 codeHash,
        string calldata uri,
        uint96 price,
        bytes32[] calldata measurements,
        bool openToAllCallers
    ) external returns (uint256 agentId) {
        agentId = ++agentCount;
        Agent storage agent = _agents[agentId];
        agent.owner = msg.sender;
        agent.price = price;
        agent.openToAllCallers = openToAllCallers;
        agent.anyMeasurement = measurements.length == 0;
        emit AgentRegistered(agentId, msg.sender, price, openToAllCallers);
        emit AgentMeasurementPolicyUpdated(agentId, measurements.length == 0);
        for (uint256 i; i < measurements.length; ++i) {
            _setMeasurementAllowed(agentId, measurements[i], true);
        }
        _setCode(agentId, agent, codeHash, uri);
    }

    /// @notice Publishes a new code version; new requests run it, requests already made keep theirs.
    /// @param agentId The caller's agent.
    /// @param codeHash keccak256 of the new code bundle.
    /// @param uri Where the bundle is published.
    function updateCode(uint256 agentId, bytes32 codeHash, string calldata uri) external onlyAgentOwner(agentId) {
        _setCode(agentId, _agents[agentId], codeHash, uri);
    }

    /// @notice Sets the PHA price of a successful request (requests already made keep their price).
    /// @param agentId The caller's agent.
    /// @param price PHA per request.
    function setPrice(uint256 agentId, uint96 price) external onlyAgentOwner(agentId) {
        _agents[agentId].price = price;
        emit AgentPriceUpdated(agentId, price);
    }

    /// @notice Stops new requests to the agent; pending ones still settle.
    /// @param agentId The caller's agent.
    function pause(uint256 agentId) external onlyAgentOwner(agentId) {
        Agent storage agent = _agents[agentId];
        if (agent.paused) revert AgentIsPaused(agentId);
        agent.paused = true;
        emit AgentPaused(agentId);
    }

    /// @notice Accepts new requests again.
    /// @param agentId The caller's agent.
    function unpause(uint256 agentId) external onlyAgentOwner(agentId) {
        Agent storage agent = _agents[agentId];
        if (!agent.paused) revert AgentNotPaused(agentId);
        agent.paused = false;
        emit AgentUnpaused(agentId);
    }

    /// @notice Opens the agent to any caller, or restricts it to the caller allowlist.
    /// @param agentId The caller's agent.
    /// @param open True to accept any caller.
    function setOpenToAllCallers(uint256 agentId, bool open) external onlyAgentOwner(agentId) {
        _agents[agentId].openToAllCallers = open;
        emit AgentCallerPolicyUpdated(agentId, open);
    }

    /// @notice Adds or removes `caller` (a consumer contract) from the allowlist.
    /// @param agentId The caller's agent.
    /// @param caller The consumer contract.
    /// @param allowed True to add, false to remove.
    function setCallerAllowed(uint256 agentId, address caller, bool allowed) external onlyAgentOwner(agentId) {
        _allowedCallers[agentId][caller] = allowed;
        emit AgentCallerAllowed(agentId, caller, allowed);
    }

    /// @notice Lets any governance-approved measurement run the agent, or only its own allowlist.
    /// @param agentId The caller's agent.
    /// @param any True to accept every approved measurement.
    function setAnyMeasurement(uint256 agentId, bool any) external onlyAgentOwner(agentId) {
        _agents[agentId].anyMeasurement = any;
        emit AgentMeasurementPolicyUpdated(agentId, any);
    }

    /// @notice Adds or removes a runtime measurement from the agent's allowlist.
    /// @param agentId The caller's agent.
    /// @param measurement The runtime measurement.
    /// @param allowed True to add, false to remove.
    function setMeasurementAllowed(uint256 agentId, bytes32 measurement, bool allowed)
        external
        onlyAgentOwner(agentId)
    {
        _setMeasurementAllowed(agentId, measurement, allowed);
    }

    /// @notice Stores the owner's secrets (e.g. an LLM API key) encrypted to the cluster key of `keyEpoch`.
    /// @dev Only ciphertext is stored; only attested workers hold the cluster key that opens it.
    /// @param agentId The caller's agent.
    /// @param keyEpoch The cluster-key epoch `ciphertext` is encrypted to.
    /// @param ciphertext The encrypted secrets.
    function setSecrets(uint256 agentId, uint32 keyEpoch, bytes calldata ciphertext) external onlyAgentOwner(agentId) {
        _secrets[agentId] = Secrets(keyEpoch, ciphertext);
        emit AgentSecretsUpdated(agentId, keyEpoch, keccak256(ciphertext));
    }

    /// @notice Starts handing the agent to `newOwner`, who must accept; address(0) cancels.
    /// @param agentId The caller's agent.
    /// @param newOwner The proposed owner, or address(0) to cancel.
    function transferAgentOwnership(uint256 agentId, address newOwner) external onlyAgentOwner(agentId) {
        _agents[agentId].pendingOwner = newOwner;
        emit AgentOwnershipTransferStarted(agentId, msg.sender, newOwner);
    }

    /// @notice Completes a hand-over started by {transferAgentOwnership}.
    /// @param agentId The agent handed to the caller.
    function acceptAgentOwnership(uint256 agentId) external {
        Agent storage agent = _agents[agentId];
        if (agent.pendingOwner != msg.sender || msg.sender == address(0)) {
            revert NotPendingAgentOwner(agentId, msg.sender);
        }
        address previous = agent.owner;
        agent.owner = msg.sender;
        agent.pendingOwner = address(0);
        emit AgentOwnershipTransferred(agentId, previous, msg.sender);
    }

    /// @notice The full agent record.
    /// @param agentId The agent.
    /// @return The record (zero owner if unknown).
    function agentOf(uint256 agentId) external view returns (Agent memory) {
        return _agents[agentId];
    }

    /// @notice Whether `caller` is on the agent's allowlist (ignores the open policy).
    /// @param agentId The agent.
    /// @param caller The consumer contract.
    /// @return Whether it is on the allowlist.
    function isCallerAllowed(uint256 agentId, address caller) external view returns (bool) {
        return _allowedCallers[agentId][caller];
    }

    /// @inheritdoc IAgentRegistry
    function requestTerms(uint256 agentId, address caller) external view returns (RequestTerms memory terms) {
        Agent storage agent = _agents[agentId];
        address owner = agent.owner;
        if (owner == address(0)) revert UnknownAgent(agentId);
        if (agent.paused) revert AgentIsPaused(agentId);
        if (!agent.openToAllCallers && !_allowedCallers[agentId][caller]) revert CallerNotAllowed(agentId, caller);
        terms = RequestTerms(owner, agent.price, agent.codeHash, agent.version, agent.anyMeasurement);
    }

    /// @inheritdoc IAgentRegistry
    function isMeasurementAllowed(uint256 agentId, bytes32 measurement) external view returns (bool) {
        return _agents[agentId].anyMeasurement || _allowedMeasurements[agentId][measurement];
    }

    /// @inheritdoc IAgentRegistry
    function ownerAndPrice(uint256 agentId) external view returns (address owner, uint96 price) {
        Agent storage agent = _agents[agentId];
        return (agent.owner, agent.price);
    }

    /// @inheritdoc IAgentRegistry
    function codeOf(uint256 agentId, uint32 version) public view returns (bytes32 codeHash, string memory uri) {
        CodeVersion storage code = _code[agentId][version];
        if (code.codeHash == bytes32(0)) revert UnknownCodeVersion(agentId, version);
        return (code.codeHash, code.uri);
    }

    /// @inheritdoc IAgentRegistry
    function currentCode(uint256 agentId) external view returns (uint32 version, bytes32 codeHash, string memory uri) {
        version = _agents[agentId].version;
        if (version == 0) revert UnknownAgent(agentId);
        (codeHash, uri) = codeOf(agentId, version);
    }

    /// @inheritdoc IAgentRegistry
    function secretsOf(uint256 agentId) external view returns (uint32 keyEpoch, bytes memory ciphertext) {
        Secrets storage secrets = _secrets[agentId];
        return (secrets.keyEpoch, secrets.ciphertext);
    }

    function _setCode(uint256 agentId, Agent storage agent, bytes32 codeHash, string calldata uri) internal {
        if (codeHash == bytes32(0)) revert EmptyCodeHash();
        if (bytes(uri).length == 0) revert EmptyCodeURI();
        uint32 version = agent.version + 1;
        agent.version = version;
        agent.codeHash = codeHash;
        _code[agentId][version] = CodeVersion(codeHash, uri);
        emit AgentCodeUpdated(agentId, version, codeHash, uri);
    }

    function _setMeasurementAllowed(uint256 agentId, bytes32 measurement, bool allowed) internal {
        if (measurement == bytes32(0)) revert ZeroMeasurement();
        _allowedMeasurements[agentId][measurement] = allowed;
        emit AgentMeasurementAllowed(agentId, measurement, allowed);
    }
}
