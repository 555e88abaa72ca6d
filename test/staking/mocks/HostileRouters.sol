// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @notice A router that refuses fee collection (e.g. one the hub no longer belongs to).
contract RefusingRouter {
    error Refused();

    function collectWorkerFees(address) external pure returns (uint256) {
        revert Refused();
    }
}

/// @notice A router whose fee collection burns every unit of gas it is given, standing in for a
/// collection starved by a caller-chosen gas limit.
contract GasBurningRouter {
    function collectWorkerFees(address) external view returns (uint256) {
        while (gasleft() > 0) {}
        return 0;
    }
}
