// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {TimelockController} from "@openzeppelin/contracts/governance/TimelockController.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IPausable} from "../interfaces/IPausable.sol";
import {IStakingHub} from "../staking/IStakingHub.sol";
import {IPhalaTimelock} from "./IPhalaTimelock.sol";

/// @title PhalaTimelock
/// @notice Owner of the protocol's contracts. PhalaGovernor is its only proposer, canceller and
/// executor, so every change of a parameter, verifier, measurement or owner is a passed proposal
/// that waited the delay here. OpenZeppelin's TimelockController with three additions:
/// - Exit window: no operation runs sooner than the staking hub's unbonding period plus EXIT_MARGIN
///   after it was queued ({getMinDelay} is at least {exitWindow} + EXIT_MARGIN), so a staker who
///   starts leaving when a change is queued — even in the queueing block — has its PHA back strictly
///   before the change can run. The configured delay itself must be at least that long.
/// - Bounded delay: {updateDelay} stays within [MIN_DELAY, MAX_DELAY] and above the exit window.
/// - Guardian: holders of GUARDIAN_ROLE (a multisig) may pause the contracts governance listed
///   ({guardianPause}) at once. Nothing else: unpausing, and granting or revoking the role, are
///   proposals like any other.
/// @dev The timelock administers itself (DEFAULT_ADMIN_ROLE), so role changes and the functions
/// gated by that role are proposals too. The deployer holds the admin role only while deploying:
/// it wires roles, lists pausable contracts, has the timelock accept the ownerships offered to it
/// ({acceptOwnerships}) and renounces the role in the same deployment.
contract PhalaTimelock is IPhalaTimelock, TimelockController {
    /// @notice May call {guardianPause}.
    bytes32 public constant GUARDIAN_ROLE = keccak256("GUARDIAN_ROLE");
    /// @notice Bounds of the configured delay (the exit window may make the effective one longer).
    uint256 public constant MIN_DELAY = 1 days;
    uint256 public constant MAX_DELAY = 30 days;
    /// @notice How much longer than the unbonding period every operation waits: a withdrawal requested
    /// in the block an operation is queued is claimable this long before the operation can run.
    uint256 public constant EXIT_MARGIN = 1 hours;

    /// @notice The hub whose unbonding period is the exit window.
    IStakingHub public immutable stakingHub;

    /// @notice Contracts the guardian may pause.
    mapping(address target => bool) public isGuardianPausable;

    /// @param minDelay Configured delay, within [MIN_DELAY, MAX_DELAY] and at least the hub's
    /// unbonding period + EXIT_MARGIN.
    /// @param proposers Granted PROPOSER_ROLE and CANCELLER_ROLE (the governor).
    /// @param executors Granted EXECUTOR_ROLE (the governor).
    /// @param admin Deployment-time admin, to renounce at the end of the deployment (or zero).
    /// @param hub The staking hub (its unbonding period is the exit window).
    constructor(uint256 minDelay, address[] memory proposers, address[] memory executors, address admin, IStakingHub hub)
        TimelockController(minDelay, proposers, executors, admin)
    {
        if (address(hub) == address(0)) revert ZeroAddress();
        stakingHub = hub;
        // Also checks that the hub reports its parameters (else every schedule would revert).
        _checkDelay(minDelay);
    }

    /// @notice The delay every operation waits: the configured delay, or the exit window plus
    /// EXIT_MARGIN if longer (the hub's unbonding period may have been raised since the delay was set).
    /// @return Seconds.
    function getMinDelay() public view override returns (uint256) {
        return Math.max(super.getMinDelay(), exitWindow() + EXIT_MARGIN);
    }

    /// @notice The configured delay (see {getMinDelay} for the one in force).
    /// @return Seconds.
    function configuredDelay() external view returns (uint256) {
        return super.getMinDelay();
    }

    /// @notice How long a staker waits from asking to leave until its PHA is back: the hub's
    /// unbonding period (vault holders: the same when the vault has the liquidity, see StakingVault).
    /// @return Seconds.
    function exitWindow() public view returns (uint256) {
        return stakingHub.params().unbondingPeriod;
    }

    /// @notice Changes the configured delay, within the bounds. Only the timelock itself (a proposal).
    /// @param newDelay The new configured delay, seconds.
    function updateDelay(uint256 newDelay) public override {
        super.updateDelay(newDelay);
        _checkDelay(newDelay);
    }

    /// @notice Lists or delists a contract the guardian may pause. Admin only: the timelock itself
    /// (a proposal), or the deployer during deployment.
    /// @param target The pausable contract.
    /// @param pausable True to list it, false to delist it.
    function setGuardianPausable(address target, bool pausable) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (target == address(0)) revert ZeroAddress();
        isGuardianPausable[target] = pausable;
        emit GuardianPausableSet(target, pausable);
    }

    /// @notice Pauses `target` now (it must be listed and owned by this timelock). Guardian only.
    /// @param target The contract to pause.
    function guardianPause(address target) external onlyRole(GUARDIAN_ROLE) {
        if (!isGuardianPausable[target]) revert NotGuardianPausable(target);
        emit GuardianPaused(msg.sender, target);
        IPausable(target).pause();
    }

    /// @notice Accepts the ownership of contracts that offered it to the timelock (Ownable2Step).
    /// Admin only: the deployer during deployment, later a proposal.
    /// @param targets Contracts whose pending owner is this timelock.
    function acceptOwnerships(Ownable2Step[] calldata targets) external onlyRole(DEFAULT_ADMIN_ROLE) {
        for (uint256 i; i < targets.length; ++i) {
            targets[i].acceptOwnership();
        }
    }

    function _checkDelay(uint256 delay) private view {
        if (delay < MIN_DELAY || delay > MAX_DELAY) revert DelayOutOfBounds(delay, MIN_DELAY, MAX_DELAY);
        uint256 minimum = exitWindow() + EXIT_MARGIN;
        if (delay < minimum) revert DelayWithinExitWindow(delay, minimum);
    }
}
