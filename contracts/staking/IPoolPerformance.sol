// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICommonErrors} from "../interfaces/ICommonErrors.sol";

/// @title IPoolPerformance
/// @notice Events and errors of PoolPerformance.
interface IPoolPerformance is ICommonErrors {
    event Recorded(uint256 indexed poolId, uint256 indexed epoch, uint96 netRewards);
}
