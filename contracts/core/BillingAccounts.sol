// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";
import {IERC1363Receiver} from "@openzeppelin/contracts/interfaces/IERC1363Receiver.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {SafeCast} from "@openzeppelin/contracts/utils/math/SafeCast.sol";
import {IBillingAccounts} from "../interfaces/IBillingAccounts.sol";

/// @title BillingAccounts
/// @notice Prepaid PHA accounts that pay for agent requests. An account has an owner, an allowlist
/// of consumer contracts that may spend from it, a balance and the part of it reserved by pending
/// requests. Top-up by `approve`+{fund}, by EIP-2612 permit ({fundWithPermit}) or by a single
/// ERC-1363 `transferAndCall` with the account id as data. The owner withdraws the unreserved part.
abstract contract BillingAccounts is IBillingAccounts, IERC1363Receiver {
    using SafeERC20 for IERC20;

    /// @dev One storage slot: what a request and a settlement touch.
    struct Account {
        uint96 balance;
        uint96 reserved;
        uint64 pendingRequests;
    }

    /// @notice The fee token.
    IERC20 public immutable pha;

    /// @notice Number of accounts created; ids run from 1.
    uint64 public accountCount;

    mapping(uint64 accountId => Account) internal _accounts;
    mapping(uint64 accountId => address) public accountOwner;
    mapping(uint64 accountId => address) public pendingAccountOwner;
    mapping(uint64 accountId => mapping(address consumer => bool)) public isConsumer;

    modifier onlyAccountOwner(uint64 accountId) {
        address owner = accountOwner[accountId];
        if (owner == address(0)) revert UnknownAccount(accountId);
        if (owner != msg.sender) revert NotAccountOwner(accountId, msg.sender);
        _;
    }

    constructor(IERC20 token) {
        if (address(token) == address(0)) revert ZeroAddress();
        pha = token;
    }

    /// @notice Opens a billing account owned by the caller.
    /// @return accountId The new account's id.
    function createAccount() external returns (uint64 accountId) {
        accountId = ++accountCount;
        accountOwner[accountId] = msg.sender;
        emit AccountCreated(accountId, msg.sender);
    }

    /// @notice Allows `consumer` (a contract or EOA) to make requests paid by the account.
    /// @param accountId The caller's account.
    /// @param consumer The address allowed to spend from it.
    function addConsumer(uint64 accountId, address consumer) external onlyAccountOwner(accountId) {
        if (consumer == address(0)) revert ZeroAddress();
        isConsumer[accountId][consumer] = true;
        emit ConsumerAdded(accountId, consumer);
    }

    /// @notice Stops `consumer` from making new requests; its pending ones still settle.
    /// @param accountId The caller's account.
    /// @param consumer The address no longer allowed.
    function removeConsumer(uint64 accountId, address consumer) external onlyAccountOwner(accountId) {
        isConsumer[accountId][consumer] = false;
        emit ConsumerRemoved(accountId, consumer);
    }

    /// @notice Adds `amount` PHA from the caller (after `approve`) to any existing account.
    /// @param accountId The account to credit.
    /// @param amount PHA taken from the caller.
    function fund(uint64 accountId, uint256 amount) external {
        _credit(accountId, msg.sender, amount);
        pha.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice {fund} with an EIP-2612 permit instead of a prior approval.
    /// @dev A permit front-run by someone else is tolerated: the allowance it set is used anyway.
    /// @param accountId The account to credit.
    /// @param amount PHA taken from the caller.
    /// @param deadline The permit's deadline.
    /// @param v The permit signature's recovery id.
    /// @param r The permit signature's r.
    /// @param s The permit signature's s.
    function fundWithPermit(uint64 accountId, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s)
        external
    {
        try IERC20Permit(address(pha)).permit(msg.sender, address(this), amount, deadline, v, r, s) {} catch {}
        _credit(accountId, msg.sender, amount);
        pha.safeTransferFrom(msg.sender, address(this), amount);
    }

    /// @notice ERC-1363 hook: `pha.transferAndCall(router, amount, abi.encode(uint64 accountId))` funds an account.
    /// @param from Who sent the PHA.
    /// @param value PHA received.
    /// @param data abi.encode(uint64 accountId).
    /// @return The ERC-1363 receiver selector.
    function onTransferReceived(address, address from, uint256 value, bytes calldata data) external returns (bytes4) {
        if (msg.sender != address(pha)) revert UnexpectedToken(msg.sender);
        _credit(abi.decode(data, (uint64)), from, value);
        return IERC1363Receiver.onTransferReceived.selector;
    }

    /// @notice Withdraws up to the unreserved balance to `to`.
    /// @param accountId The caller's account.
    /// @param to Where the PHA goes.
    /// @param amount PHA to withdraw.
    function withdraw(uint64 accountId, address to, uint256 amount) external onlyAccountOwner(accountId) {
        if (to == address(0)) revert ZeroAddress();
        if (amount == 0) revert ZeroAmount();
        Account memory account = _accounts[accountId];
        uint256 available = account.balance - account.reserved;
        if (amount > available) revert InsufficientBalance(accountId, available, amount);
        account.balance -= uint96(amount);
        _accounts[accountId] = account;
        emit AccountWithdrawn(accountId, to, amount);
        pha.safeTransfer(to, amount);
    }

    /// @notice Starts handing the account to `newOwner`, who must accept; address(0) cancels.
    /// @param accountId The caller's account.
    /// @param newOwner The proposed owner, or address(0) to cancel.
    function transferAccountOwnership(uint64 accountId, address newOwner) external onlyAccountOwner(accountId) {
        pendingAccountOwner[accountId] = newOwner;
        emit AccountOwnershipTransferStarted(accountId, msg.sender, newOwner);
    }

    /// @notice Completes a hand-over started by {transferAccountOwnership}.
    /// @param accountId The account handed to the caller.
    function acceptAccountOwnership(uint64 accountId) external {
        if (msg.sender == address(0) || pendingAccountOwner[accountId] != msg.sender) {
            revert NotPendingAccountOwner(accountId, msg.sender);
        }
        address previous = accountOwner[accountId];
        accountOwner[accountId] = msg.sender;
        delete pendingAccountOwner[accountId];
        emit AccountOwnershipTransferred(accountId, previous, msg.sender);
    }

    /// @notice Balance, reserved part and number of pending requests of an account.
    /// @param accountId The account.
    /// @return The account (zero owner if unknown).
    function accountOf(uint64 accountId) external view returns (Account memory) {
        return _accounts[accountId];
    }

    function _credit(uint64 accountId, address funder, uint256 amount) private {
        if (amount == 0) revert ZeroAmount();
        if (accountOwner[accountId] == address(0)) revert UnknownAccount(accountId);
        Account storage account = _accounts[accountId];
        account.balance = SafeCast.toUint96(account.balance + amount);
        emit AccountFunded(accountId, funder, amount);
    }
}
