// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IMiningRewards
/// @notice What the staking hub calls when it settles a pool's worker fees: the reserve records
/// them as the pool's work in the current epoch and pays the pool's reward for its last finished
/// epoch to the hub, which distributes it with the fees (commission, then reward per share), so
/// delegators claim both with one constant-gas claim.
interface IMiningRewards {
    /// @notice Records `fees` PHA of worker fees just settled for `poolId`, whose workers' last fault
    /// was at `lastFaultAt` (0 if never), and transfers to the hub (the only caller) any reward due.
    /// @return reward PHA transferred.
    function onFeesSettled(uint256 poolId, uint256 fees, uint64 lastFaultAt) external returns (uint256 reward);
}
