// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICommonErrors} from "../interfaces/ICommonErrors.sol";

/// @title IPhalaTimelock
/// @notice Events and errors PhalaTimelock adds to OpenZeppelin's TimelockController.
interface IPhalaTimelock is ICommonErrors {
    event GuardianPausableSet(address indexed target, bool pausable);
    event GuardianPaused(address indexed guardian, address indexed target);

    error DelayOutOfBounds(uint256 delay, uint256 min, uint256 max);
    error DelayWithinExitWindow(uint256 delay, uint256 minimum);
    error NotGuardianPausable(address target);
}
