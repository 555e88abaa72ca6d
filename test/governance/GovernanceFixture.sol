// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {IGovernor} from "@openzeppelin/contracts/governance/IGovernor.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {AgentNetworkFixture} from "../../devkit/solidity/AgentNetworkFixture.sol";
import {StakingVault} from "../../contracts/staking/StakingVault.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {StakedPhaVotes} from "../../contracts/governance/StakedPhaVotes.sol";
import {PhalaTimelock} from "../../contracts/governance/PhalaTimelock.sol";
import {PhalaGovernor} from "../../contracts/governance/PhalaGovernor.sol";

/// @notice The agent network under governance, handed over as the Ignition module does: the
/// fixture's network plus a vault, the stake-votes ledger, the timelock and the governor; every
/// ownable contract then belongs to the timelock and the deployer (this test) holds no role.
/// A whale holds 5% of PHA (above the 4% quorum), self-delegated.
abstract contract GovernanceFixture is AgentNetworkFixture {
    uint48 internal constant VOTING_DELAY = 1 hours;
    uint32 internal constant VOTING_PERIOD = 1 days;
    uint256 internal constant PROPOSAL_THRESHOLD = 1_000 ether;
    uint256 internal constant QUORUM_PERCENT = 4;
    /// @dev The fixture's unbonding period (1 day) plus the timelock's EXIT_MARGIN: the shortest allowed.
    uint256 internal constant TIMELOCK_DELAY = 1 days + 1 hours;
    uint256 internal constant WHALE_PHA = 50_000_000 ether;

    address internal constant WHALE = address(0x3A1E);
    address internal constant GUARDIAN = address(0x6A4D);
    address internal constant MANAGER = address(0x3A4);
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);
    address internal constant CAROL = address(0xCA401);

    StakingVault internal vault;
    StakedPhaVotes internal stakeVotes;
    PhalaTimelock internal timelock;
    PhalaGovernor internal governor;
    uint256 internal workerPool = 1;

    function setUp() public virtual override {
        super.setUp();
        vault = new StakingVault(pha, stakingHub, MANAGER, address(this));
        stakeVotes = new StakedPhaVotes(stakingHub, IERC4626(address(vault)));
        stakingHub.setStakeVotes(stakeVotes);
        vault.setStakeVotes(stakeVotes);
        timelock = new PhalaTimelock(TIMELOCK_DELAY, new address[](0), new address[](0), address(this), stakingHub);
        governor = new PhalaGovernor(
            pha,
            stakeVotes,
            timelock,
            PhalaGovernor.Settings({
                votingDelay: VOTING_DELAY,
                votingPeriod: VOTING_PERIOD,
                proposalThreshold: PROPOSAL_THRESHOLD,
                quorumNumerator: QUORUM_PERCENT
            })
        );
        timelock.grantRole(timelock.PROPOSER_ROLE(), address(governor));
        timelock.grantRole(timelock.CANCELLER_ROLE(), address(governor));
        timelock.grantRole(timelock.EXECUTOR_ROLE(), address(governor));
        timelock.grantRole(timelock.GUARDIAN_ROLE(), GUARDIAN);
        timelock.setGuardianPausable(address(router), true);
        Ownable2Step[] memory owned = ownedContracts();
        for (uint256 i; i < owned.length; ++i) {
            owned[i].transferOwnership(address(timelock));
        }
        timelock.acceptOwnerships(owned);
        timelock.renounceRole(timelock.DEFAULT_ADMIN_ROLE(), address(this));

        pha.transfer(WHALE, WHALE_PHA);
        vm.prank(WHALE);
        pha.delegate(WHALE);
        _advance(1);
    }

    function ownedContracts() internal view returns (Ownable2Step[] memory owned) {
        owned = new Ownable2Step[](4);
        owned[0] = router;
        owned[1] = stakingHub;
        owned[2] = vault;
        owned[3] = workerRegistry;
    }

    // ---------------------------------------------------------------- proposals

    function _single(address target, bytes memory data)
        internal
        pure
        returns (address[] memory targets, uint256[] memory values, bytes[] memory calldatas)
    {
        targets = new address[](1);
        values = new uint256[](1);
        calldatas = new bytes[](1);
        targets[0] = target;
        calldatas[0] = data;
    }

    function _propose(address target, bytes memory data, string memory description) internal returns (uint256) {
        (address[] memory targets, uint256[] memory values, bytes[] memory calldatas) = _single(target, data);
        vm.prank(WHALE);
        return governor.propose(targets, values, calldatas, description);
    }

    /// @dev Proposes, votes for it with the whale and queues it; returns the proposal id.
    function _passAndQueue(address target, bytes memory data, string memory description) internal returns (uint256 id) {
        id = _propose(target, data, description);
        _advance(VOTING_DELAY + 1);
        vm.prank(WHALE);
        governor.castVote(id, 1);
        _advance(VOTING_PERIOD);
        assertEq(uint256(governor.state(id)), uint256(IGovernor.ProposalState.Succeeded), "succeeded");
        governor.queue(id);
    }

    /// @dev The whole lifecycle: passes, queues, waits for the timelock and executes.
    function _govern(address target, bytes memory data, string memory description) internal returns (uint256 id) {
        id = _passAndQueue(target, data, description);
        vm.warp(governor.proposalEta(id));
        governor.execute(id);
    }

    function _advance(uint256 seconds_) internal {
        vm.warp(block.timestamp + seconds_);
        vm.roll(block.number + 1);
    }

    // ---------------------------------------------------------------- staking

    function _give(address account, uint256 amount) internal {
        pha.transfer(account, amount);
    }

    function _stake(address account, uint256 poolId, uint256 amount) internal returns (uint256 shares) {
        _give(account, amount);
        vm.startPrank(account);
        pha.approve(address(stakingHub), amount);
        shares = stakingHub.stake(poolId, amount);
        vm.stopPrank();
    }

    function _deposit(address account, uint256 amount) internal returns (uint256 shares) {
        _give(account, amount);
        vm.startPrank(account);
        pha.approve(address(vault), amount);
        shares = vault.deposit(amount, account);
        vm.stopPrank();
    }

    function _unbondingPeriod() internal view returns (uint256) {
        return stakingHub.params().unbondingPeriod;
    }

    function _params() internal view returns (IStakingHub.Params memory) {
        return stakingHub.params();
    }
}
