// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IMiningRewards
/// @notice What the staking hub calls when it settles a pool's worker fees: the reserve pays the
/// pool's mining reward on them to the hub, which distributes it with the fees (commission, then
/// reward per share), so delegators claim both with one constant-gas claim.
interface IMiningRewards {
    /// @notice Transfers to the hub (the only caller) the mining reward on `fees` PHA of worker fees
    /// just settled for `poolId`, whose workers' last fault was at `lastFaultAt` (0 if never).
    /// @return reward PHA transferred.
    function onFeesSettled(uint256 poolId, uint256 fees, uint64 lastFaultAt) external returns (uint256 reward);
}
