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
/// {IAgentRouter-reportEquivocation}, {IAgentRouter-reportBackupEquivocation}, the failover's draw
/// ({drawBackup}) and handover ({handOver}), and the governance setters. Deployed by the {AgentRouter}
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
        _reportEquivocation(req, req.worker, a, b);
    }

    /// @notice The router's {IAgentRouter-reportBackupEquivocation}, run here by DELEGATECALL.
    /// @param req The request as opened.
    /// @param worker The worker key that signed both answers (registered or since deregistered).
    /// @param a One answer it signed for the request.
    /// @param b Another, different answer it signed for the request.
    function reportBackupEquivocation(
        IAgentRouter.AgentRequest calldata req,
        address worker,
        IAgentRouter.SignedAnswer calldata a,
        IAgentRouter.SignedAnswer calldata b
    ) external {
        _reportEquivocation(req, worker, a, b);
    }

    /// @dev Slashes and jails `worker` for two different answers to `req` signed by its key, each
    /// naming it as the answering worker. The primary's proof is recorded per request (one worker per
    /// request, see {equivocationReported}), any other worker's per request and worker: backups are
    /// drawn from the staking side's current weights, so which worker was a backup cannot be checked
    /// later, but an attested key that signed two answers to a real request misbehaved whatever its rank.
    function _reportEquivocation(
        IAgentRouter.AgentRequest calldata req,
        address worker,
        IAgentRouter.SignedAnswer calldata a,
        IAgentRouter.SignedAnswer calldata b
    ) private {
        bytes32 requestHash = RequestCodec.hash(req);
        bytes32 commitment = _commitments[req.id];
        if (commitment == bytes32(0)) revert IAgentRouter.UnknownRequest(req.id);
        _requireCommitment(req.id, commitment, requestHash);
        if (worker == req.worker) {
            // One proof per request suffices: the id names one real request and its one primary.
            if (equivocationReported[req.id]) revert IAgentRouter.EquivocationAlreadyReported(req.id);
            equivocationReported[req.id] = true;
        } else {
            // Any key that signed two answers to a real request is jailed, and the pool the staking side
            // binds it to slashed: no "still registered" check, which its operator could dodge by
            // deregistering the key before the proof lands. A throwaway key reporting itself jails only
            // itself, earns nothing (no pool, no slash, no reward) and pre-empts no proof: the record is
            // per request and worker.
            if (_otherEquivocationReported[req.id][worker]) revert IAgentRouter.EquivocationAlreadyReported(req.id);
            _otherEquivocationReported[req.id][worker] = true;
        }
        bytes32 digestA = _signedAnswerDigest(req.id, requestHash, a, worker);
        bytes32 digestB = _signedAnswerDigest(req.id, requestHash, b, worker);
        if (digestA == digestB) revert IAgentRouter.NotEquivocation(req.id);
        _requireSigner(req.id, digestA, a.signature, worker);
        _requireSigner(req.id, digestB, b.signature, worker);

        workerRegistry.jail(worker);
        uint256 slashed;
        uint256 reward = EQUIVOCATION_REWARD_GAS * _configs[req.configVersion].phaPerGas;
        _requireGasForSlash();
        // staking is set: the request exists, so staking was wired before it, and is never unset.
        try staking.slashForEquivocation{gas: SLASH_GAS}(worker, req.id, msg.sender, reward) returns (uint256 amount) {
            slashed = amount;
        } catch {
            emit IAgentRouter.SlashFailed(req.id, worker);
        }
        emit IAgentRouter.EquivocationReported(req.id, worker, msg.sender, slashed);
    }

    /// @dev The EIP-712 digest of `answer` to request `requestId` signed as `worker`.
    function _signedAnswerDigest(
        uint256 requestId,
        bytes32 requestHash,
        IAgentRouter.SignedAnswer calldata answer,
        address worker
    ) private view returns (bytes32) {
        return _fulfillmentDigest(
            requestId,
            requestHash,
            answer.outputHash,
            answer.status,
            FulfillmentHash.wordsHash(answer.subAgentIds),
            FulfillmentHash.wordsHash(answer.subAgentPrices),
            worker
        );
    }

    /// @notice The handover of {IAgentRouter-fulfillAsBackup}, run here by DELEGATECALL once the
    /// backup's answer is verified and its request marked answered: the primary's pending slot is
    /// released (no fee; its full mark cleared) and its pool slashed the request's penalty, all of it
    /// to the treasury, so that nobody who could cause a handover (the backup, its operator, the
    /// relayer) gets any of it. The slash gets its gas whatever the caller's gas limit.
    /// @dev Called directly, no request of the extension's own storage is answered: it reverts.
    /// @param requestId The request.
    /// @param primary Its assigned worker.
    /// @param version Its config version (the penalty's terms).
    /// @param backup The backup that answered.
    /// @param rank The backup's rank.
    function handOver(uint256 requestId, address primary, uint16 version, address backup, uint256 rank) external {
        if (_settledState(requestId) != ANSWERED) revert IAgentRouter.RequestNotPending(requestId);
        _releaseWorker(primary, 0, ONE_PENDING);
        uint256 slashed = _slashMissed(primary, requestId, _missPenalty(_configs[version]), address(0), 0);
        emit IAgentRouter.BackupAnswered(requestId, primary, backup, rank, slashed);
    }

    /// @notice Backup `rank` of request `requestId` as the router's {IAgentRouter-backupWorker} and
    /// {IAgentRouter-fulfillAsBackup} draw it (by STATICCALL, with the router's `staking_`): rank r is
    /// the first worker drawn from the seeds keccak256(requestHash, r), keccak256(seed), ... that can
    /// serve the agent, is not banned and is neither the primary nor a lower rank. A pure function of
    /// its arguments and the staking side's and registries' state: called directly, it reads nothing
    /// of the extension's own storage. The pools are drawn on their weights at the start of the day of
    /// `openedAt` ({IWorkerStaking-sampleWorkerAt}): no stake move after the request steers the draw.
    /// @param staking_ The router's staking side.
    /// @param requestId The request (for the error).
    /// @param agentId Its agent, whose allowed measurements a backup must run.
    /// @param primary Its assigned worker.
    /// @param requestHash Its commitment, which fixes the seeds.
    /// @param openedAt When it was opened (its deadline less its config's timeout).
    /// @param rank 1 to MAX_BACKUPS (checked by the router).
    /// @return backup The backup, or a revert {IAgentRouter-NoBackup} if none could be drawn.
    function drawBackup(
        IWorkerStaking staking_,
        uint256 requestId,
        uint256 agentId,
        address primary,
        bytes32 requestHash,
        uint256 openedAt,
        uint256 rank
    ) external view returns (address backup) {
        if (rank == 0 || rank > MAX_BACKUPS) revert IAgentRouter.NoBackup(requestId, rank);
        address[] memory taken = new address[](rank + 1);
        taken[0] = primary;
        address primaryOperator = workerRegistry.operatorOf(primary);
        for (uint256 r = 1; r <= rank; ++r) {
            backup = address(0);
            uint256 seed = uint256(keccak256(abi.encode(requestHash, r)));
            for (uint256 attempt; attempt < MAX_BACKUP_DRAWS && backup == address(0); ++attempt) {
                address worker = staking_.sampleWorkerAt(seed, openedAt);
                // No worker from this seed (its draws met only pools that have since lost their
                // workers) ends nothing: the next seed may meet a live pool (review s26 D-2).
                if (worker != address(0) && _canBackUp(staking_, worker, agentId, primaryOperator, taken, r)) {
                    backup = worker;
                }
                seed = uint256(keccak256(abi.encode(seed)));
            }
            if (backup == address(0)) revert IAgentRouter.NoBackup(requestId, rank);
            taken[r] = backup;
        }
    }

    /// @dev `worker` is none of `taken[0..count)`, runs a measurement the agent allows, is not banned
    /// and is not run by the primary's operator: an operator's second pool never takes over from its
    /// first, so skipping a window cannot move the fee between two pools of one operator. It must also
    /// be eligible now (active, attestation not expired, its pool's stake and bond at their minimums):
    /// the day's-start weights say which pool is drawn, not that its worker can still be held to
    /// account (review s26 D-2, D-3). Only a pool's own operator can make its worker ineligible, which
    /// only gives away a draw it had won.
    function _canBackUp(
        IWorkerStaking staking_,
        address worker,
        uint256 agentId,
        address primaryOperator,
        address[] memory taken,
        uint256 count
    ) private view returns (bool) {
        for (uint256 i; i < count; ++i) {
            if (taken[i] == worker) return false;
        }
        bytes32 measurement = workerRegistry.activeMeasurementOf(worker);
        return measurement != bytes32(0) && agentRegistry.isMeasurementAllowed(agentId, measurement)
            && !workerRegistry.isBanned(worker) && workerRegistry.operatorOf(worker) != primaryOperator
            && staking_.isEligible(worker);
    }

    /// @dev Refunds an unanswered request in full after its deadline (its capacity fee included) and
    /// slashes its worker; the single path of {timeout} and {timeoutBatch}.
    function _timeout(IAgentRouter.AgentRequest calldata req) private {
        _requireCommitment(req.id, _pendingCommitment(req.id), RequestCodec.hash(req));
        if (block.timestamp <= req.deadline) revert IAgentRouter.DeadlineNotPassed(req.id, req.deadline);
        _markSettled(req.id, TIMED_OUT);
        _settleAccount(req.accountId, req.maxFee, 0);
        _releaseWorker(req.worker, 0, ONE_PENDING);
        Config memory config = _configs[req.configVersion];
        _protocolBook -= _relayGas(req.callbackGasLimit, config) << RELAY_GAS_SHIFT;
        emit IAgentRouter.RequestTimedOut(req.id, req.worker, msg.sender, req.maxFee);

        // The penalty follows the request (its config's worker fee), not the pool's size; the caller
        // gets back its gas at most and the rest goes to the treasury. The requester's compensation is
        // the full refund: anything more could be farmed by a requester colluding with the operator.
        // The request's capacity fee, refunded to the requester, is slashed from the worker whose miss
        // held the capacity to the deadline: holding it by timeouts costs no less than by answers.
        _slashMissed(
            req.worker, req.id, _missPenalty(config) + req.capacityFee, msg.sender, TIMEOUT_REWARD_GAS * config.phaPerGas
        );
        // Last, everything settled: the consumer sees a final state. Exactly TIMEOUT_CALLBACK_GAS or
        // the transaction reverts, so no chosen gas limit skips the notice; its outcome is ignored, so
        // a reverting, gas-burning or return-data-bombing consumer cannot block the refund or the slash.
        ExactGasCall.call(req.consumer, TIMEOUT_CALLBACK_GAS, abi.encodeCall(IAgentConsumer.onAgentTimeout, (req.id)));
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
