// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICommonErrors} from "./ICommonErrors.sol";

/// @title IStakeVotes
/// @notice What the staking hub and the vault call after a staker's position changes, so that its
/// voting power follows the stake (see StakedPhaVotes).
interface IStakeVotes is ICommonErrors {
    /// @notice `account`'s votes for `position` were marked to `value` PHA.
    event PositionMarked(address indexed account, uint256 indexed position, uint256 value);

    /// @notice Marks `account`'s voting power for `position` (a hub pool id, or 0 for the vault) to
    /// what the position is worth now. Anyone may call it: it only ever records the truth.
    /// @param position A hub pool id, or 0 for the vault.
    /// @param account The account whose votes are marked.
    function sync(uint256 position, address account) external;
}
