// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IAgentRouter} from "../interfaces/IAgentRouter.sol";
import {IAgentRegistry} from "../interfaces/IAgentRegistry.sol";
import {IAgentConsumer} from "../interfaces/IAgentConsumer.sol";
import {IWorkerRegistry} from "../interfaces/IWorkerRegistry.sol";
import {IWorkerStaking} from "../interfaces/IWorkerStaking.sol";
import {IKeyRegistry} from "../interfaces/IKeyRegistry.sol";
import {AgentRouterState} from "./AgentRouterState.sol";
import {ExactGasCall} from "./ExactGasCall.sol";
import {RequestCodec} from "./lib/RequestCodec.sol";
import {FulfillmentHash} from "./lib/FulfillmentHash.sol";

/// @title AgentRouterExtension
/// @notice The router's cold paths: {IAgentRouter-timeout}, {IAgentRouter-timeoutBatch},
/// {IAgentRouter-reportEquivocation} and the governance setters. Deployed by the {AgentRouter}
/// constructor and run by DELEGATECALL from it, on the router's storage and with the caller's
/// `msg.sender` (so `onlyOwner` checks the router's owner), with the router as `msg.sender` to the
/// registries and the staking side; the router holds the reentrancy lock around the fault paths.
/// @dev Called directly, it acts on its own storage, where no request exists and whose owner is the
/// router: the fault functions revert (unknown or not pending request), the setters `onlyOwner`, and
/// nothing of the router's can be reached.
contract AgentRouterExtension is AgentRouterState {
    /// @dev The router's own constructor arguments, so that the immutables read here (the
    /// registries, the EIP-712 name and version) are the router's.
    constructor(IERC20 pha_, IAgentRegistry agentRegistry_, IWorkerRegistry workerRegistry_)
        AgentRouterState(pha_, agentRegistry_, workerRegistry_, msg.sender)
    {}

    /// @notice The router's {IAgentRouter-timeout}, run here by DELEGATECALL.
    /// @param req The request as opened (from its {IAgentRouter-AgentRequested} event).
    function timeout(IAgentRouter.AgentRequest calldata req) external {
        _timeout(req);
    }

    /// @notice The router's {IAgentRouter-timeoutBatch}, run here by DELEGATECALL.
    /// @param requests The requests as opened; settled ones are skipped.
    function timeoutBatch(IAgentRouter.AgentRequest[] calldata requests) external {
        for (uint256 i; i < requests.length; ++i) {
            IAgentRouter.AgentRequest calldata req = requests[i];
            if (_pendingCommitment(req.id) == bytes32(0)) {
                emit IAgentRouter.TimeoutSkipped(req.id);
                continue;
            }
            _timeout(req);
        }
    }

    /// @notice The router's {IAgentRouter-reportEquivocation}, run here by DELEGATECALL.
    /// @param req The request as opened.
    /// @param a One answer the worker signed for it.
    /// @param b Another, different answer the same worker signed for it.
    function reportEquivocation(IAgentRouter.AgentRequest calldata req, IAgentRouter.SignedAnswer calldata a, IAgentRouter.SignedAnswer calldata b)
        external
    {
        bytes32 requestHash = RequestCodec.hash(req);
        bytes32 commitment = _commitments[req.id];
        if (commitment == bytes32(0)) revert IAgentRouter.UnknownRequest(req.id);
        _requireCommitment(req.id, commitment, requestHash);
        // One proof per request suffices: the id now names one real request and its one worker.
        if (equivocationReported[req.id]) revert IAgentRouter.EquivocationAlreadyReported(req.id);
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
        if (digestA == digestB) revert IAgentRouter.NotEquivocation(req.id);
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
            emit IAgentRouter.SlashFailed(req.id, req.worker);
        }
        emit IAgentRouter.EquivocationReported(req.id, req.worker, msg.sender, slashed);
    }

    /// @dev Refunds an unanswered request in full after its deadline and slashes its worker; the
    /// single path of {timeout} and {timeoutBatch}.
    function _timeout(IAgentRouter.AgentRequest calldata req) private {
        _requireCommitment(req.id, _pendingCommitment(req.id), RequestCodec.hash(req));
        if (block.timestamp <= req.deadline) revert IAgentRouter.DeadlineNotPassed(req.id, req.deadline);
        _markSettled(req.id, TIMED_OUT);
        _settleAccount(req.accountId, req.maxFee, 0);
        _releaseWorker(req.worker, 0);
        Config memory config = _configs[req.configVersion];
        _protocolBook -= _relayGas(req.callbackGasLimit, config) << RELAY_GAS_SHIFT;
        emit IAgentRouter.RequestTimedOut(req.id, req.worker, msg.sender, req.maxFee);

        // The penalty follows the request (its config's worker fee), not the pool's size; the caller
        // gets back its gas at most and the rest goes to the treasury. The requester's compensation is
        // the full refund: anything more could be farmed by a requester colluding with the operator.
        uint256 penalty = uint256(config.workerFee) * config.timeoutPenaltyBps / BPS;
        if (penalty != 0) {
            uint256 reward = TIMEOUT_REWARD_GAS * config.phaPerGas;
            _requireGasForSlash();
            // staking is set: the request exists, so staking was wired before it, and is never unset.
            try staking.slashForTimeout{gas: SLASH_GAS}(req.worker, req.id, penalty, msg.sender, reward) {}
            catch {
                emit IAgentRouter.SlashFailed(req.id, req.worker);
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
        if (gasleft() < SLASH_GAS + SLASH_GAS / 63 + SLASH_CALL_OVERHEAD) revert IAgentRouter.InsufficientGasForSlash(SLASH_GAS);
    }

    // ---------------------------------------------------------------- governance

    /// @notice Governance: sets fees and limits (bounded) for new requests, as a new config version;
    /// pending requests keep the terms they were opened with.
    /// @param newConfig The new terms, checked against the governance bounds.
    function setConfig(Config calldata newConfig) external onlyOwner {
        _setConfig(newConfig);
    }

    /// @notice Governance: sets the largest accepted request input.
    /// @param newMax Largest input in bytes, at most MAX_INPUT_BYTES_LIMIT.
    function setMaxInputBytes(uint32 newMax) external onlyOwner {
        _setMaxInputBytes(newMax);
    }

    /// @notice Governance: wires the staking contract (worker sampling, slashing, fee collection), once.
    /// @dev Worker fees accrue here for the staking contract to collect: a second staking contract
    /// could collect fees earned under the first, so moving to another one means a new router.
    /// @param newStaking The staking contract.
    function setStaking(IWorkerStaking newStaking) external onlyOwner {
        if (address(newStaking) == address(0)) revert ZeroAddress();
        if (address(staking) != address(0)) revert IAgentRouter.StakingAlreadySet();
        staking = newStaking;
        emit IAgentRouter.StakingUpdated(address(newStaking));
    }

    /// @notice Governance: sets the key registry that validates confidential inputs' epochs.
    /// @param newKeyRegistry The key registry (zero: confidential inputs refused).
    function setKeyRegistry(IKeyRegistry newKeyRegistry) external onlyOwner {
        keyRegistry = newKeyRegistry;
        emit IAgentRouter.KeyRegistryUpdated(address(newKeyRegistry));
    }

    /// @notice Governance: sets the relay gas per second the chain carries for this router's answers
    /// (docs/ARCHITECTURE.md, "Relay capacity"); pending requests keep their place.
    /// @param newRate Gas per second, 1 to MAX_RELAY_GAS_PER_SECOND.
    function setRelayGasPerSecond(uint64 newRate) external onlyOwner {
        if (newRate == 0 || newRate > MAX_RELAY_GAS_PER_SECOND) revert IAgentRouter.InvalidConfig();
        _protocolBook = (_protocolBook & ~(uint256(type(uint32).max) << RELAY_RATE_SHIFT)) | (uint256(newRate) << RELAY_RATE_SHIFT);
        emit IAgentRouter.RelayGasPerSecondUpdated(newRate);
    }

    /// @notice Governance: sets the PHA per relay gas per second of timeout a request pays for the
    /// relay capacity at full utilisation (docs/ARCHITECTURE.md, "Relay capacity"); zero makes
    /// holding capacity free. Pending requests paid their fee already.
    /// @param newPrice PHA wei per gas-second, at most MAX_CAPACITY_PRICE.
    function setCapacityPrice(uint64 newPrice) external onlyOwner {
        if (newPrice > MAX_CAPACITY_PRICE) revert IAgentRouter.InvalidConfig();
        _protocolBook = uint208(_protocolBook) | (uint256(newPrice) << CAPACITY_PRICE_SHIFT);
        emit IAgentRouter.CapacityPriceUpdated(newPrice);
    }

    /// @notice Governance: sets where protocol fees go.
    /// @param newTreasury The treasury address.
    function setTreasury(address newTreasury) external onlyOwner {
        _setTreasury(newTreasury);
    }

    /// @notice Governance: stops new requests; settlement, timeouts and withdrawals keep working.
    function pause() external onlyOwner {
        if (_paused) revert IAgentRouter.EnforcedPause();
        _paused = true;
        emit IAgentRouter.Paused(msg.sender);
    }

    /// @notice Governance: accepts new requests again.
    function unpause() external onlyOwner {
        if (!_paused) revert IAgentRouter.ExpectedPause();
        _paused = false;
        emit IAgentRouter.Unpaused(msg.sender);
    }
}
