// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title ExactGasCall
/// @notice Calls a contract with exactly `gasAmount` gas, ignoring its return data, so a consumer's
/// callback can neither be starved by the relayer nor block or grief the caller (no return-data bomb).
/// @dev The technique is Chainlink's `callWithExactGas` (VRFCoordinatorV2, later the
/// `CallWithExactGas` library of CCIP): check that 63/64 of what is left after a fixed allowance
/// exceeds `gasAmount`, then CALL with `gasAmount`. Return data is never copied, as in Nomad's
/// ExcessivelySafeCall.
library ExactGasCall {
    /// @dev Gas spent between the `gasleft()` read and the CALL's gas-forwarding step: the
    /// EXTCODESIZE of `target` (2,600 if its account is cold; it also warms the account, so the CALL
    /// that follows pays the 100-gas warm access, not a second cold one), the CALL's base cost (a
    /// value-free call to an existing account: no stipend, no new-account charge), memory already
    /// expanded by the caller, and the arithmetic. Under 3,000 in all; the rest is margin.
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
