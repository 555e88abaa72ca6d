// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {VaultFixture} from "./VaultFixture.sol";

/// @notice ERC-4626 properties (after a16z's suite) on a vault in a non-trivial state: part of its
/// PHA allocated, rewards accrued and unlocked, a slash taken, so the share price is not 1. Exits
/// are asynchronous (maxWithdraw = maxRedeem = 0, as the standard allows), so the redemption
/// properties are checked on the queued exit: it pays previewRedeem as of the request.
contract StakingVault4626Test is VaultFixture {
    uint256 internal constant MAX_ASSETS = 10_000_000 ether;
    address internal constant CAROL = address(0xCA201);

    function setUp() public override {
        super.setUp();
        depositAs(CAROL, 50_000 ether);
        allocate(poolA, 20_000 ether);
        allocate(poolB, 10_000 ether);
        creditFees(WORKER_A, 3_333 ether);
        hub.harvest(WORKER_A);
        router.slashForTimeout(WORKER_B, 1, address(0), address(0));
        vault.checkpoint();
        vm.warp(block.timestamp + vault.PROFIT_UNLOCK_PERIOD());
        pha.transfer(ALICE, 100_000_000 ether);
        vm.prank(ALICE);
        pha.approve(address(vault), type(uint256).max);
    }

    // -------------------------------------------------- conversions round down, previews per the standard

    function testFuzz_ConvertToSharesRoundsDown(uint256 assets) public view {
        assets = bound(assets, 0, MAX_ASSETS);
        assertLe(vault.convertToAssets(vault.convertToShares(assets)), assets, "assets->shares->assets <= assets");
    }

    function testFuzz_ConvertToAssetsRoundsDown(uint256 shares) public view {
        shares = bound(shares, 0, MAX_ASSETS * 1e6);
        assertLe(vault.convertToShares(vault.convertToAssets(shares)), shares, "shares->assets->shares <= shares");
    }

    function testFuzz_PreviewDepositMatchesAndRoundsDown(uint256 assets) public {
        assets = bound(assets, 1, MAX_ASSETS);
        uint256 preview = vault.previewDeposit(assets);
        assertLe(preview, vault.convertToShares(assets), "preview <= convert");
        vm.prank(ALICE);
        uint256 shares = vault.deposit(assets, ALICE);
        assertEq(shares, preview, "deposit gives previewDeposit");
    }

    function testFuzz_PreviewMintMatchesAndRoundsUp(uint256 shares) public {
        shares = bound(shares, 1, MAX_ASSETS * 1e6);
        uint256 preview = vault.previewMint(shares);
        assertGe(preview, vault.convertToAssets(shares), "preview >= convert");
        uint256 before = pha.balanceOf(ALICE);
        vm.prank(ALICE);
        uint256 assets = vault.mint(shares, ALICE);
        assertEq(assets, preview, "mint takes previewMint");
        assertEq(before - pha.balanceOf(ALICE), assets, "pulled exactly");
        assertEq(vault.balanceOf(ALICE), shares, "minted exactly");
    }

    function testFuzz_PreviewWithdrawRoundsUp(uint256 assets) public view {
        assets = bound(assets, 0, MAX_ASSETS);
        assertGe(vault.previewWithdraw(assets), vault.convertToShares(assets), "preview >= convert");
    }

    function testFuzz_QueuedRedeemPaysPreviewRedeemAndRoundsDown(uint256 deposit, uint256 shares) public {
        deposit = bound(deposit, 1 ether, MAX_ASSETS);
        vm.prank(ALICE);
        uint256 minted = vault.deposit(deposit, ALICE);
        shares = bound(shares, 1e6, minted);
        uint256 preview = vault.previewRedeem(shares);
        assertLe(preview, vault.convertToAssets(shares), "preview <= convert");
        uint256 paid = _exitViaQueue(shares);
        assertEq(paid, preview, "queued redeem pays previewRedeem as of the request");
        assertEq(vault.balanceOf(ALICE), minted - shares, "burned exactly");
    }

    // -------------------------------------------------- round trips never profit

    function testFuzz_DepositRedeemNoProfit(uint256 assets) public {
        assets = bound(assets, 1 ether, MAX_ASSETS);
        vm.prank(ALICE);
        uint256 shares = vault.deposit(assets, ALICE);
        assertLe(_exitViaQueue(shares), assets, "redeem(deposit(a)) <= a");
    }

    function testFuzz_MintRedeemNoProfit(uint256 shares) public {
        shares = bound(shares, 1e24, MAX_ASSETS * 1e6);
        vm.prank(ALICE);
        uint256 paid = vault.mint(shares, ALICE);
        assertLe(_exitViaQueue(shares), paid, "redeem(mint(s)) <= paid");
    }

    function testFuzz_RedeemDepositNoProfit(uint256 deposit, uint256 shares) public {
        deposit = bound(deposit, 1 ether, MAX_ASSETS);
        vm.prank(ALICE);
        uint256 minted = vault.deposit(deposit, ALICE);
        shares = bound(shares, 1e6, minted);
        uint256 assets = _exitViaQueue(shares);
        vm.prank(ALICE);
        vault.deposit(assets, ALICE);
        assertLe(vault.balanceOf(ALICE), minted, "deposit(redeem(s)) <= s");
    }

    /// Requests `shares` of ALICE's, waits the exit delay and pays the queue; returns what ALICE got.
    function _exitViaQueue(uint256 shares) internal returns (uint256 paid) {
        uint256 before = pha.balanceOf(ALICE);
        vm.prank(ALICE);
        vault.requestRedeem(shares, ALICE);
        vm.warp(block.timestamp + UNBONDING);
        assertEq(vault.processRedeemQueue(1), 1, "paid from idle");
        paid = pha.balanceOf(ALICE) - before;
    }

    // -------------------------------------------------- max functions honoured

    function testFuzz_MaxWithdrawAndRedeemAreZeroAndHonoured(uint256 deposit) public {
        deposit = bound(deposit, 1 ether, MAX_ASSETS);
        vm.prank(ALICE);
        vault.deposit(deposit, ALICE);
        assertEq(vault.maxWithdraw(ALICE), 0, "exits are queued");
        assertEq(vault.maxRedeem(ALICE), 0, "exits are queued");
        vm.startPrank(ALICE);
        vault.withdraw(0, ALICE, ALICE);
        vault.redeem(0, ALICE, ALICE);
        vm.expectRevert();
        vault.redeem(1, ALICE, ALICE);
        vm.expectRevert();
        vault.withdraw(1, ALICE, ALICE);
        vm.stopPrank();
    }

    function testFuzz_MaxDepositAndMintHonoured(uint256 assets) public view {
        assets = bound(assets, 1, MAX_ASSETS);
        assertGe(vault.maxDeposit(ALICE), assets, "deposit allowed");
        assertGe(vault.maxMint(ALICE), vault.previewDeposit(assets), "mint allowed");
    }

    function test_MaxRedeemZeroForNonHolder() public view {
        assertEq(vault.maxRedeem(BOB), 0, "no shares");
        assertEq(vault.maxWithdraw(BOB), 0, "no assets");
    }

    // -------------------------------------------------- totals

    function test_TotalAssetsIsIdlePlusAllocatedLessLocked() public view {
        uint256 expected = pha.balanceOf(address(vault)) + hub.positionValue(poolA, address(vault))
            + hub.positionValue(poolB, address(vault));
        assertEq(vault.totalAssets() + vault.lockedProfit(), expected, "total");
        assertEq(vault.lockedProfit(), 0, "all unlocked");
    }

    function testFuzz_ConvertIsIndependentOfCaller(uint256 assets) public {
        assets = bound(assets, 0, MAX_ASSETS);
        uint256 asThis = vault.convertToShares(assets);
        vm.prank(ALICE);
        assertEq(vault.convertToShares(assets), asThis, "same for every caller");
    }
}
