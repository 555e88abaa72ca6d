// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title ExactGasCall
/// @notice Calls a contract with exactly `gasAmount` gas, ignoring its return data, so a consumer's
/// callback can neither be starved by the relayer nor block or grief the caller (no return-data bomb).
library ExactGasCall {
    /// @dev Gas kept back for the checks below and the CALL itself (cold account + value-free call).
    uint256 internal constant GAS_FOR_CHECKS = 5_000;
    /// @dev EIP-150: a call can forward at most 63/64 of the gas left.
    uint256 internal constant CALL_GAS_DIVISOR = 64;

    /// @notice The caller did not leave enough gas to forward `gasAmount` to the callback.
    error InsufficientGasForCallback(uint256 gasAmount);

    /// @return success False when `target` has no code or the call reverted or ran out of gas.
    function call(address target, uint256 gasAmount, bytes memory data) internal returns (bool success) {
        uint256 available = gasleft();
        if (available < GAS_FOR_CHECKS) revert InsufficientGasForCallback(gasAmount);
        available -= GAS_FOR_CHECKS;
        if (available - available / CALL_GAS_DIVISOR <= gasAmount) revert InsufficientGasForCallback(gasAmount);
        if (target.code.length == 0) return false;
        assembly ("memory-safe") {
            success := call(gasAmount, target, 0, add(data, 0x20), mload(data), 0, 0)
        }
    }
}
