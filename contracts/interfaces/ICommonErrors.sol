// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title ICommonErrors
/// @notice Errors several contracts raise for the same bad input, declared once so that each has one
/// selector and one name wherever it surfaces. A contract's interface inherits this one rather than
/// redeclaring them (two bases declaring the same error do not compile together).
interface ICommonErrors {
    /// @notice An address that must be set was zero.
    error ZeroAddress();
    /// @notice An amount that must be positive was zero.
    error ZeroAmount();
    /// @notice A TEE measurement (code identity) that must be set was zero.
    error ZeroMeasurement();
}
