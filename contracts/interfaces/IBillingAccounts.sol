// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICommonErrors} from "./ICommonErrors.sol";

/// @title IBillingAccounts
/// @notice Events and errors of the router's prepaid billing accounts (see BillingAccounts).
interface IBillingAccounts is ICommonErrors {
    event AccountCreated(uint64 indexed accountId, address indexed owner);
    event AccountFunded(uint64 indexed accountId, address indexed funder, uint256 amount);
    event AccountWithdrawn(uint64 indexed accountId, address indexed to, uint256 amount);
    event ConsumerAdded(uint64 indexed accountId, address indexed consumer);
    event ConsumerRemoved(uint64 indexed accountId, address indexed consumer);
    event AccountOwnershipTransferStarted(uint64 indexed accountId, address indexed from, address indexed to);
    event AccountOwnershipTransferred(uint64 indexed accountId, address indexed from, address indexed to);

    error UnknownAccount(uint64 accountId);
    error NotAccountOwner(uint64 accountId, address caller);
    error NotPendingAccountOwner(uint64 accountId, address caller);
    error InsufficientBalance(uint64 accountId, uint256 available, uint256 required);
    error UnexpectedToken(address token);
}
