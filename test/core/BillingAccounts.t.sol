// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {BillingAccounts} from "../../contracts/core/BillingAccounts.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IERC20Errors} from "@openzeppelin/contracts/interfaces/draft-IERC6093.sol";
import {ERC1363Utils} from "@openzeppelin/contracts/token/ERC20/utils/ERC1363Utils.sol";
import {IBillingAccounts} from "../../contracts/interfaces/IBillingAccounts.sol";
import {ICommonErrors} from "../../contracts/interfaces/ICommonErrors.sol";

contract BillingAccountsTest is RouterFixture {
    uint256 internal constant HOLDER_KEY = 0xF00D;
    bytes32 internal constant PERMIT_TYPEHASH =
        keccak256("Permit(address owner,address spender,uint256 value,uint256 nonce,uint256 deadline)");

    // ---------------------------------------------------------------- create and consumers

    function test_CreateAccountNumbersFromOne() public {
        vm.expectEmit();
        emit IBillingAccounts.AccountCreated(accountId + 1, stranger);
        vm.prank(stranger);
        uint64 id = router.createAccount();
        assertEq(id, accountId + 1, "next id");
        assertEq(router.accountCount(), id, "count");
        assertEq(router.accountOwner(id), stranger, "owner");
        BillingAccounts.Account memory account = router.accountOf(id);
        assertEq(account.balance + account.reserved + account.pendingRequests, 0, "empty");
    }

    function test_AddAndRemoveConsumer() public {
        vm.expectEmit();
        emit IBillingAccounts.ConsumerAdded(accountId, stranger);
        vm.prank(payer);
        router.addConsumer(accountId, stranger);
        assertTrue(router.isConsumer(accountId, stranger), "added");

        vm.expectEmit();
        emit IBillingAccounts.ConsumerRemoved(accountId, stranger);
        vm.prank(payer);
        router.removeConsumer(accountId, stranger);
        assertFalse(router.isConsumer(accountId, stranger), "removed");
    }

    function test_RevertWhen_ConsumerManagedByNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.NotAccountOwner.selector, accountId, stranger));
        vm.prank(stranger);
        router.addConsumer(accountId, stranger);
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.NotAccountOwner.selector, accountId, stranger));
        vm.prank(stranger);
        router.removeConsumer(accountId, address(consumer));
    }

    function test_RevertWhen_ConsumerOfUnknownAccount() public {
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.UnknownAccount.selector, uint64(99)));
        router.addConsumer(99, stranger);
    }

    function test_RevertWhen_ZeroConsumer() public {
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        vm.prank(payer);
        router.addConsumer(accountId, address(0));
    }

    function test_RemovedConsumersPendingRequestStillSettles() public {
        IAgentRouter.AgentRequest memory req = _request();
        vm.prank(payer);
        router.removeConsumer(accountId, address(consumer));
        router.fulfill(_fulfillment(req, "ok"));
        assertEq(consumer.responses(), 1, "settled");
    }

    // ---------------------------------------------------------------- funding

    function test_FundByAnyone() public {
        token.transfer(stranger, 5 ether);
        vm.prank(stranger);
        token.approve(address(router), 5 ether);
        vm.expectEmit();
        emit IBillingAccounts.AccountFunded(accountId, stranger, 5 ether);
        vm.prank(stranger);
        router.fund(accountId, 5 ether);
        assertEq(_balanceOf(accountId), ACCOUNT_FUNDS + 5 ether, "credited");
        assertEq(token.balanceOf(address(router)), ACCOUNT_FUNDS + 5 ether, "held");
    }

    function test_RevertWhen_FundUnknownAccountOrZero() public {
        token.approve(address(router), 1 ether);
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.UnknownAccount.selector, uint64(99)));
        router.fund(99, 1 ether);
        vm.expectRevert(ICommonErrors.ZeroAmount.selector);
        router.fund(accountId, 0);
    }

    function test_RevertWhen_FundWithoutAllowance() public {
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(router), 0, 1 ether)
        );
        router.fund(accountId, 1 ether);
    }

    function test_FundWithPermit() public {
        address holder = _holder(10 ether);
        (uint8 v, bytes32 r, bytes32 s) = _permit(holder, 10 ether, block.timestamp + 1 hours);
        vm.prank(holder);
        router.fundWithPermit(accountId, 10 ether, block.timestamp + 1 hours, v, r, s);
        assertEq(_balanceOf(accountId), ACCOUNT_FUNDS + 10 ether, "credited");
        assertEq(token.balanceOf(holder), 0, "spent");
        assertEq(token.nonces(holder), 1, "permit used");
    }

    function test_FundWithPermitSurvivesAFrontRunPermit() public {
        address holder = _holder(10 ether);
        uint256 deadline = block.timestamp + 1 hours;
        (uint8 v, bytes32 r, bytes32 s) = _permit(holder, 10 ether, deadline);
        // Someone copies the permit from the mempool and submits it first.
        vm.prank(stranger);
        token.permit(holder, address(router), 10 ether, deadline, v, r, s);
        vm.prank(holder);
        router.fundWithPermit(accountId, 10 ether, deadline, v, r, s);
        assertEq(_balanceOf(accountId), ACCOUNT_FUNDS + 10 ether, "credited anyway");
    }

    function test_RevertWhen_PermitInvalidAndNoAllowance() public {
        address holder = _holder(10 ether);
        (uint8 v, bytes32 r, bytes32 s) = _permit(holder, 1 ether, block.timestamp + 1 hours);
        vm.expectRevert(
            abi.encodeWithSelector(IERC20Errors.ERC20InsufficientAllowance.selector, address(router), 0, 10 ether)
        );
        vm.prank(holder);
        router.fundWithPermit(accountId, 10 ether, block.timestamp + 1 hours, v, r, s);
    }

    function test_TopUpWithTransferAndCall() public {
        vm.expectEmit();
        emit IBillingAccounts.AccountFunded(accountId, address(this), 3 ether);
        token.transferAndCall(address(router), 3 ether, abi.encode(accountId));
        assertEq(_balanceOf(accountId), ACCOUNT_FUNDS + 3 ether, "credited");
        assertEq(token.balanceOf(address(router)), ACCOUNT_FUNDS + 3 ether, "held");
    }

    function test_RevertWhen_TransferAndCallToUnknownAccount() public {
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.UnknownAccount.selector, uint64(99)));
        token.transferAndCall(address(router), 3 ether, abi.encode(uint64(99)));
        vm.expectRevert(abi.encodeWithSelector(ERC1363Utils.ERC1363InvalidReceiver.selector, address(router)));
        token.transferAndCall(address(router), 3 ether, "");
    }

    function test_RevertWhen_TransferReceivedFromAnotherToken() public {
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.UnexpectedToken.selector, stranger));
        vm.prank(stranger);
        router.onTransferReceived(stranger, stranger, 1 ether, abi.encode(accountId));
        assertEq(_balanceOf(accountId), ACCOUNT_FUNDS, "nothing credited");
    }

    // ---------------------------------------------------------------- withdraw

    function test_WithdrawOnlyTheUnreservedPart() public {
        _request();
        uint256 available = ACCOUNT_FUNDS - MAX_FEE;
        vm.expectRevert(
            abi.encodeWithSelector(IBillingAccounts.InsufficientBalance.selector, accountId, available, available + 1)
        );
        vm.prank(payer);
        router.withdraw(accountId, payer, available + 1);

        vm.expectEmit();
        emit IBillingAccounts.AccountWithdrawn(accountId, payer, available);
        vm.prank(payer);
        router.withdraw(accountId, payer, available);
        assertEq(token.balanceOf(payer), available, "paid out");
        assertEq(_balanceOf(accountId), MAX_FEE, "reservation stays");
        assertEq(_reservedOf(accountId), MAX_FEE, "still reserved");
    }

    function test_RevertWhen_WithdrawByNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.NotAccountOwner.selector, accountId, stranger));
        vm.prank(stranger);
        router.withdraw(accountId, stranger, 1);
    }

    function test_RevertWhen_WithdrawZeroOrToZero() public {
        vm.startPrank(payer);
        vm.expectRevert(ICommonErrors.ZeroAmount.selector);
        router.withdraw(accountId, payer, 0);
        vm.expectRevert(ICommonErrors.ZeroAddress.selector);
        router.withdraw(accountId, address(0), 1);
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.UnknownAccount.selector, uint64(99)));
        router.withdraw(99, payer, 1);
    }

    // ---------------------------------------------------------------- ownership

    function test_AccountOwnershipIsTwoStep() public {
        vm.expectEmit();
        emit IBillingAccounts.AccountOwnershipTransferStarted(accountId, payer, stranger);
        vm.prank(payer);
        router.transferAccountOwnership(accountId, stranger);
        assertEq(router.accountOwner(accountId), payer, "unchanged until accepted");
        assertEq(router.pendingAccountOwner(accountId), stranger, "pending");

        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.NotPendingAccountOwner.selector, accountId, relayer));
        vm.prank(relayer);
        router.acceptAccountOwnership(accountId);

        vm.expectEmit();
        emit IBillingAccounts.AccountOwnershipTransferred(accountId, payer, stranger);
        vm.prank(stranger);
        router.acceptAccountOwnership(accountId);
        assertEq(router.accountOwner(accountId), stranger, "new owner");
        assertEq(router.pendingAccountOwner(accountId), address(0), "pending cleared");

        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.NotAccountOwner.selector, accountId, payer));
        vm.prank(payer);
        router.withdraw(accountId, payer, 1);
        vm.prank(stranger);
        router.withdraw(accountId, stranger, 1 ether);
        assertEq(token.balanceOf(stranger), 1 ether, "new owner withdraws");
    }

    function test_AccountOwnershipTransferCanBeCancelled() public {
        vm.startPrank(payer);
        router.transferAccountOwnership(accountId, stranger);
        router.transferAccountOwnership(accountId, address(0));
        vm.stopPrank();
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.NotPendingAccountOwner.selector, accountId, stranger));
        vm.prank(stranger);
        router.acceptAccountOwnership(accountId);
    }

    function test_RevertWhen_TransferAccountOwnershipByNonOwner() public {
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.NotAccountOwner.selector, accountId, stranger));
        vm.prank(stranger);
        router.transferAccountOwnership(accountId, stranger);
    }

    function test_RevertWhen_AcceptingAnUnknownAccount() public {
        vm.expectRevert(abi.encodeWithSelector(IBillingAccounts.NotPendingAccountOwner.selector, uint64(99), stranger));
        vm.prank(stranger);
        router.acceptAccountOwnership(99);
    }

    // ---------------------------------------------------------------- helpers

    function _holder(uint256 amount) internal returns (address holder) {
        holder = vm.addr(HOLDER_KEY);
        token.transfer(holder, amount);
    }

    function _permit(address holder, uint256 value, uint256 deadline) internal view returns (uint8, bytes32, bytes32) {
        bytes32 structHash =
            keccak256(abi.encode(PERMIT_TYPEHASH, holder, address(router), value, token.nonces(holder), deadline));
        return vm.sign(HOLDER_KEY, keccak256(abi.encodePacked("\x19\x01", token.DOMAIN_SEPARATOR(), structHash)));
    }
}
