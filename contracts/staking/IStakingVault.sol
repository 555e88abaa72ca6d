// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICommonErrors} from "../interfaces/ICommonErrors.sol";

/// @title IStakingVault
/// @notice Events and errors of the StakingVault (its functions are the ERC-4626 ones and its own).
interface IStakingVault is ICommonErrors {
    event ManagerSet(address manager);
    event StakeVotesSet(address stakeVotes);
    event Allocated(uint256 indexed poolId, uint256 amount, uint256 shares);
    event PoolWithdrawalRequested(uint256 indexed poolId, uint256 indexed hubRequestId, uint256 shares, bool forced);
    event PoolWithdrawalCompleted(uint256 indexed hubRequestId, uint256 amount);
    event PoolRewardsClaimed(uint256 indexed poolId, uint256 amount);
    event RedeemRequested(
        uint256 indexed requestId, address indexed owner, address indexed receiver, uint256 shares, uint256 assets, uint64 claimableAt
    );
    event RedeemProcessed(uint256 indexed requestId, address indexed receiver, uint256 shares, uint256 assets);
    event Checkpoint(uint256 grossAssets, uint256 lockedProfit);

    error NotManager(address caller);
    error TooManyPools();
    error InsufficientLiquidity(uint256 requested, uint256 available);
    error QueueEmpty();
    error NoShortfall();
    error NoPosition(uint256 poolId);
    error UnknownPoolWithdrawal(uint256 hubRequestId);
    error StakeVotesAlreadySet();
}
