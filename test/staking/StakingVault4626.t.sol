// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {VaultFixture} from "./VaultFixture.sol";

/// @notice ERC-4626 properties (after a16z's suite) on a vault in a non-trivial state: part of its
/// PHA allocated, rewards accrued, a slash taken, so the share price is not 1.
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
        router.slashForTimeout(WORKER_B, 1, 100 ether, address(0), 0); // 1% of pool B
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

    function testFuzz_PreviewWithdrawMatchesAndRoundsUp(uint256 deposit, uint256 assets) public {
        deposit = bound(deposit, 1 ether, MAX_ASSETS);
        vm.prank(ALICE);
        vault.deposit(deposit, ALICE);
        assets = bound(assets, 0, vault.maxWithdraw(ALICE));
        uint256 preview = vault.previewWithdraw(assets);
        assertGe(preview, vault.convertToShares(assets), "preview >= convert");
        uint256 sharesBefore = vault.balanceOf(ALICE);
        vm.prank(ALICE);
        uint256 shares = vault.withdraw(assets, ALICE, ALICE);
        assertEq(shares, preview, "withdraw burns previewWithdraw");
        assertEq(sharesBefore - vault.balanceOf(ALICE), shares, "burned exactly");
    }

    function testFuzz_PreviewRedeemMatchesAndRoundsDown(uint256 deposit, uint256 shares) public {
        deposit = bound(deposit, 1 ether, MAX_ASSETS);
        vm.prank(ALICE);
        vault.deposit(deposit, ALICE);
        shares = bound(shares, 0, vault.maxRedeem(ALICE));
        uint256 preview = vault.previewRedeem(shares);
        assertLe(preview, vault.convertToAssets(shares), "preview <= convert");
        uint256 before = pha.balanceOf(ALICE);
        vm.prank(ALICE);
        uint256 assets = vault.redeem(shares, ALICE, ALICE);
        assertEq(assets, preview, "redeem gives previewRedeem");
        assertEq(pha.balanceOf(ALICE) - before, assets, "paid exactly");
    }

    // -------------------------------------------------- round trips never profit

    function testFuzz_DepositRedeemNoProfit(uint256 assets) public {
        assets = bound(assets, 1, MAX_ASSETS);
        vm.startPrank(ALICE);
        uint256 shares = vault.deposit(assets, ALICE);
        uint256 back = vault.redeem(shares, ALICE, ALICE);
        vm.stopPrank();
        assertLe(back, assets, "redeem(deposit(a)) <= a");
    }

    function testFuzz_DepositWithdrawNoProfit(uint256 assets) public {
        assets = bound(assets, 1, MAX_ASSETS);
        vm.prank(ALICE);
        uint256 shares = vault.deposit(assets, ALICE);
        _assertWithdrawBurnsAtLeast(assets, shares);
    }

    /// Withdrawing what was just put in either burns at least the shares minted or, when rounding
    /// leaves the holder a wei short, is refused (maxWithdraw says so); it never pays for fewer shares.
    function _assertWithdrawBurnsAtLeast(uint256 assets, uint256 minted) internal {
        uint256 max = vault.maxWithdraw(ALICE);
        vm.prank(ALICE);
        try vault.withdraw(assets, ALICE, ALICE) returns (uint256 burned) {
            assertGe(burned, minted, "withdraw burns >= minted");
        } catch {
            assertLe(max, assets - 1, "refused only above maxWithdraw");
        }
    }

    function testFuzz_MintRedeemNoProfit(uint256 shares) public {
        shares = bound(shares, 1, MAX_ASSETS * 1e6);
        vm.startPrank(ALICE);
        uint256 paid = vault.mint(shares, ALICE);
        uint256 back = vault.redeem(shares, ALICE, ALICE);
        vm.stopPrank();
        assertLe(back, paid, "redeem(mint(s)) <= paid");
    }

    function testFuzz_MintWithdrawNoProfit(uint256 shares) public {
        shares = bound(shares, 1, MAX_ASSETS * 1e6);
        vm.prank(ALICE);
        uint256 paid = vault.mint(shares, ALICE);
        _assertWithdrawBurnsAtLeast(paid, shares);
    }

    function testFuzz_RedeemDepositNoProfit(uint256 deposit, uint256 shares) public {
        deposit = bound(deposit, 1 ether, MAX_ASSETS);
        vm.startPrank(ALICE);
        vault.deposit(deposit, ALICE);
        shares = bound(shares, 0, vault.maxRedeem(ALICE));
        uint256 sharesBefore = vault.balanceOf(ALICE);
        uint256 assets = vault.redeem(shares, ALICE, ALICE);
        vault.deposit(assets, ALICE);
        vm.stopPrank();
        assertLe(vault.balanceOf(ALICE), sharesBefore, "deposit(redeem(s)) <= s");
    }

    // -------------------------------------------------- max functions honoured

    function testFuzz_MaxWithdrawIsWithdrawable(uint256 deposit, uint256 allocated) public {
        deposit = bound(deposit, 1 ether, MAX_ASSETS);
        vm.prank(ALICE);
        vault.deposit(deposit, ALICE);
        allocated = bound(allocated, 0, vault.availableLiquidity());
        if (allocated != 0) allocate(poolA, allocated);
        uint256 max = vault.maxWithdraw(ALICE);
        assertLe(max, vault.idleAssets(), "never above idle");
        assertLe(max, vault.previewRedeem(vault.balanceOf(ALICE)), "never above holdings");
        vm.prank(ALICE);
        vault.withdraw(max, ALICE, ALICE);
    }

    function testFuzz_MaxRedeemIsRedeemable(uint256 deposit, uint256 allocated) public {
        deposit = bound(deposit, 1 ether, MAX_ASSETS);
        vm.prank(ALICE);
        vault.deposit(deposit, ALICE);
        allocated = bound(allocated, 0, vault.availableLiquidity());
        if (allocated != 0) allocate(poolA, allocated);
        uint256 max = vault.maxRedeem(ALICE);
        assertLe(max, vault.balanceOf(ALICE), "never above balance");
        vm.prank(ALICE);
        vault.redeem(max, ALICE, ALICE);
    }

    function testFuzz_AboveMaxRedeemReverts(uint256 deposit) public {
        deposit = bound(deposit, 1 ether, MAX_ASSETS);
        vm.prank(ALICE);
        vault.deposit(deposit, ALICE);
        allocate(poolA, vault.availableLiquidity());
        uint256 max = vault.maxRedeem(ALICE);
        vm.prank(ALICE);
        vm.expectRevert();
        vault.redeem(max + 1, ALICE, ALICE);
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

    function test_TotalAssetsIsIdlePlusAllocated() public view {
        uint256 expected = pha.balanceOf(address(vault)) + hub.positionValue(poolA, address(vault))
            + hub.positionValue(poolB, address(vault));
        assertEq(vault.totalAssets(), expected, "total");
    }

    function testFuzz_ConvertIsIndependentOfCaller(uint256 assets) public {
        assets = bound(assets, 0, MAX_ASSETS);
        uint256 asThis = vault.convertToShares(assets);
        vm.prank(ALICE);
        assertEq(vault.convertToShares(assets), asThis, "same for every caller");
    }
}
