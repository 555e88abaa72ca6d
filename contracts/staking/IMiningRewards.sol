// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICommonErrors} from "../interfaces/ICommonErrors.sol";

/// @title IMiningRewards
/// @notice What the staking hub calls when it settles a pool's worker fees: the reserve records
/// them as the pool's work in the epochs the router booked them in and pays the pool's reward for
/// its final epochs to the hub, which distributes it with the fees (commission, then reward per share), so
/// delegators claim both with one constant-gas claim.
interface IMiningRewards is ICommonErrors {
    event ReserveShareSet(uint16 reserveShareBps);
    event Funded(address indexed from, uint256 amount);
    event MiningRewardPaid(uint256 indexed poolId, uint256 indexed epoch, uint256 work, uint256 reward);
    event MiningRewardWithheld(uint256 indexed poolId, uint256 indexed epoch, uint256 work, uint64 lastFaultAt);
    event MigratedTo(address indexed successor, uint256 amount);

    error NotHub(address caller);
    error InvalidSchedule();
    error InvalidReserveShare(uint256 reserveShareBps);
    error ReserveCapExceeded(uint256 funded, uint256 cap);
    error NotHubsReserve(address successor);

    /// @notice Records the work of `poolId` whose fees the hub just collected: `current` PHA of worker
    /// fees earned in the epoch now and `previous` in the epoch before (older fees earn nothing), its
    /// workers' last fault being at `lastFaultAt` (0 if never); transfers to the hub (the only
    /// caller) any reward due, for epochs two or more before now.
    /// @return reward PHA transferred.
    /// @param poolId The pool whose fees were settled.
    /// @param current PHA of worker fees earned in the epoch now.
    /// @param previous PHA of worker fees earned in the epoch before.
    /// @param lastFaultAt When the pool's workers last faulted (0 if never).
    function onFeesSettled(uint256 poolId, uint256 current, uint256 previous, uint64 lastFaultAt)
        external
        returns (uint256 reward);
}
