// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Votes} from "@openzeppelin/contracts/governance/utils/Votes.sol";
import {IERC4626} from "@openzeppelin/contracts/interfaces/IERC4626.sol";
import {EIP712} from "@openzeppelin/contracts/utils/cryptography/EIP712.sol";
import {Time} from "@openzeppelin/contracts/utils/types/Time.sol";
import {IStakeVotes} from "../interfaces/IStakeVotes.sol";
import {IStakingHub} from "../staking/IStakingHub.sol";

/// @title StakedPhaVotes
/// @notice The voting power of staked PHA. PHA staked in the hub or deposited in the vault is held
/// by those contracts, which never delegate it, so it casts no PHA votes; this ledger credits it to
/// the stakers instead: one vote per PHA of active hub stake ({IStakingHub-stakeOf}) and of vault
/// shares' value ({IERC4626-convertToAssets}), checkpointed by timestamp like PHA's own votes.
/// PhalaGovernor adds these votes to PHA's.
/// @dev Votes are not transferable. Each (account, position) is marked to its value when it is
/// synced: the hub syncs the staker on every stake and withdrawal request, the vault on every
/// deposit, transfer and redemption request, and anyone may sync any position at any time ({sync}
/// reads the hub and the vault, so it can only record the truth). Hence:
/// - nothing counts twice: staked PHA left its holder's PHA votes when it moved to the hub or the
///   vault, and the vault's own hub positions are worth nothing here (its depositors hold them);
/// - a vault's manager, a pool's operator, the hub and the vault vote with none of the stake they
///   manage or hold;
/// - stake moving to the unbonding queue loses its votes in the same transaction;
/// - votes are read at the proposal's snapshot, so stake (or a flash loan) arriving later counts for
///   nothing in that proposal;
/// - a slash lowers a position's value without touching stakers' records (the hub never loops over
///   stakers), so a slashed position keeps its marked votes until it is synced again: by its own
///   next stake or withdrawal, or by anyone calling {sync} (one call per staker of the slashed pool,
///   whom the hub's Staked events list). Over-counting is bounded by the slash fractions, and a
///   slashed staker who withdraws loses every vote of that position.
/// Stake votes are delegated separately from PHA votes and, unlike PHA, count for the staker itself
/// until it delegates them ({delegates} defaults to the account).
contract StakedPhaVotes is Votes, IStakeVotes {
    /// @notice The position id of vault shares (hub pool ids start at 1).
    uint256 public constant VAULT_POSITION = 0;

    /// @notice The staking hub whose active stake votes.
    IStakingHub public immutable hub;
    /// @notice The staking vault whose shares vote (zero: none); its own hub positions do not.
    IERC4626 public immutable vault;

    mapping(address account => mapping(uint256 position => uint256 value)) private _marked;
    mapping(address account => uint256) private _units;

    /// @param hub_ The staking hub.
    /// @param vault_ The staking vault over `hub_`, or zero.
    constructor(IStakingHub hub_, IERC4626 vault_) EIP712("StakedPhaVotes", "1") {
        if (address(hub_) == address(0)) revert ZeroAddress();
        hub = hub_;
        vault = vault_;
    }

    /// @inheritdoc IStakeVotes
    function sync(uint256 position, address account) public {
        uint256 value = valueOf(position, account);
        uint256 previous = _marked[account][position];
        if (value == previous) return;
        _marked[account][position] = value;
        if (value > previous) {
            _units[account] += value - previous;
            _transferVotingUnits(address(0), account, value - previous);
        } else {
            _units[account] -= previous - value;
            _transferVotingUnits(account, address(0), previous - value);
        }
        emit PositionMarked(account, position, value);
    }

    /// @notice {sync} for several accounts of one position (e.g. every staker of a slashed pool).
    /// @param position A hub pool id, or 0 for the vault.
    /// @param accounts The accounts whose votes are marked.
    function syncMany(uint256 position, address[] calldata accounts) external {
        for (uint256 i; i < accounts.length; ++i) {
            sync(position, accounts[i]);
        }
    }

    /// @notice What `account`'s `position` is worth now, in PHA (rounded down), as {sync} records it.
    /// @param position A hub pool id, or 0 for the vault.
    /// @param account The account.
    /// @return PHA.
    function valueOf(uint256 position, address account) public view returns (uint256) {
        IERC4626 vault_ = vault;
        if (account == address(vault_)) return 0;
        if (position == VAULT_POSITION) {
            return address(vault_) == address(0) ? 0 : vault_.convertToAssets(vault_.balanceOf(account));
        }
        return hub.stakeOf(position, account);
    }

    /// @notice The value `account`'s `position` was last marked to (its votes from it).
    /// @param account The account.
    /// @param position A hub pool id, or 0 for the vault.
    /// @return PHA.
    function markedValue(address account, uint256 position) external view returns (uint256) {
        return _marked[account][position];
    }

    /// @notice `account`'s votes from all its positions, wherever delegated.
    /// @param account The account.
    /// @return Votes.
    function votingUnitsOf(address account) external view returns (uint256) {
        return _units[account];
    }

    /// @notice The account's delegate; the account itself until it delegates.
    /// @param account The account.
    /// @return The delegate.
    function delegates(address account) public view override returns (address) {
        address delegatee = super.delegates(account);
        return delegatee == address(0) ? account : delegatee;
    }

    /// @notice Timestamps, as PHA's clock (PhalaGovernor refuses a ledger whose clock differs).
    /// @return The current timestamp.
    function clock() public view override returns (uint48) {
        return Time.timestamp();
    }

    /// @notice ERC-6372 clock description.
    /// @return "mode=timestamp".
    // solhint-disable-next-line func-name-mixedcase
    function CLOCK_MODE() public pure override returns (string memory) {
        return "mode=timestamp";
    }

    /// @dev Delegating to the zero address means delegating back to oneself: {delegates} would report
    /// the account anyway, and votes must sit where it reports them.
    function _delegate(address account, address delegatee) internal override {
        super._delegate(account, delegatee == address(0) ? account : delegatee);
    }

    function _getVotingUnits(address account) internal view override returns (uint256) {
        return _units[account];
    }
}
