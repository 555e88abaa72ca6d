// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {StakingFixture} from "./StakingFixture.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";

/// @notice Share math and rounding: every conversion favours the protocol and PHA is never created.
contract StakingHubFuzzTest is StakingFixture {
    address internal constant WORKER = address(0x1001);
    uint256 internal constant MAX_AMOUNT = 100_000_000 ether;
    uint256 internal poolId;

    function setUp() public override {
        super.setUp();
        poolId = createPool(OPERATOR, 1_000);
        addWorker(poolId, OPERATOR, WORKER);
    }

    function _exitAll(address account) internal returns (uint256 received) {
        uint256 shares = hub.sharesOf(poolId, account);
        if (shares == 0) return 0;
        vm.prank(account);
        try hub.requestWithdrawal(poolId, shares) returns (uint256 id) {
            vm.warp(block.timestamp + UNBONDING);
            vm.prank(account);
            received = hub.withdraw(id);
        } catch {
            // Shares worth zero PHA cannot be queued; nothing to receive.
        }
    }

    function testFuzz_StakeExitNeverProfits(uint256 first, uint256 second, uint256 slashes) public {
        first = bound(first, 1, MAX_AMOUNT);
        second = bound(second, 1, MAX_AMOUNT);
        slashes = bound(slashes, 0, 5);
        stakeAs(ALICE, poolId, first);
        for (uint256 i; i < slashes; ++i) router.slashForTimeout(WORKER, i, first / 100, address(0), 0);
        stakeAs(BOB, poolId, second);
        uint256 bobValue = hub.stakeOf(poolId, BOB);
        assertLe(bobValue, second, "stake value never above deposit");
        uint256 aliceBack = _exitAll(ALICE);
        uint256 bobBack = _exitAll(BOB);
        assertLe(aliceBack, first, "alice never profits from share math");
        assertLe(bobBack, second, "bob never profits from share math");
        if (slashes == 0) assertEq(aliceBack, first, "first staker exact without slashes");
        assertLe(second - bobBack, 2 + second / 1e18, "bob loses only dust to rounding");
        // Everything paid out was held: the hub keeps only rounding dust.
        IStakingHub.Pool memory p = hub.poolState(poolId);
        assertGe(pha.balanceOf(address(hub)), p.activeStake + p.unbondingStake, "held covers stake");
    }

    function testFuzz_RewardsNeverExceedDistributed(uint256 a, uint256 b, uint256 c, uint256 fee, uint16 commission)
        public
    {
        a = bound(a, 1, MAX_AMOUNT);
        b = bound(b, 1, MAX_AMOUNT);
        c = bound(c, 1, MAX_AMOUNT);
        fee = bound(fee, 0, MAX_AMOUNT);
        commission = uint16(bound(commission, 0, MAX_COMMISSION));
        uint256 id = createPool(BOB, commission);
        addWorker(id, BOB, address(0x2002));
        stakeAs(ALICE, id, a);
        stakeAs(BOB, id, b);
        stakeAs(address(0xCA), id, c);
        creditFees(address(0x2002), fee);
        hub.harvest(address(0x2002));
        uint256 commissionAccrued = hub.poolState(id).commissionAccrued;
        uint256 credited = hub.pendingRewards(id, ALICE) + hub.pendingRewards(id, BOB)
            + hub.pendingRewards(id, address(0xCA));
        assertLe(credited + commissionAccrued, fee, "never more than the fee");
        // Accumulator dust is below one wei per staker plus the precision loss.
        assertLe(fee - commissionAccrued - credited, 3, "dust only");
    }

    function testFuzz_RepeatedClaimsNeverOverpay(uint256 stakeA, uint256 stakeB, uint256[6] memory fees) public {
        stakeA = bound(stakeA, 1, MAX_AMOUNT);
        stakeB = bound(stakeB, 1, MAX_AMOUNT);
        stakeAs(ALICE, poolId, stakeA);
        stakeAs(BOB, poolId, stakeB);
        uint256 toStakers;
        uint256 claimed;
        for (uint256 i; i < fees.length; ++i) {
            uint256 fee = bound(fees[i], 0, 1_000_000 ether);
            creditFees(WORKER, fee);
            hub.harvest(WORKER);
            toStakers += fee - fee / 10;
            vm.prank(i % 2 == 0 ? ALICE : BOB);
            claimed += hub.claimRewards(poolId);
        }
        claimed += hub.pendingRewards(poolId, ALICE) + hub.pendingRewards(poolId, BOB);
        assertLe(claimed, toStakers, "claims never exceed distributed rewards");
    }

    function testFuzz_SlashSplitsProportionally(uint256 active, uint256 unbonding, bool equivocation) public {
        active = bound(active, 2, MAX_AMOUNT);
        unbonding = bound(unbonding, 1, active - 1);
        stakeAs(ALICE, poolId, active);
        vm.prank(ALICE);
        hub.requestWithdrawal(poolId, unbonding);
        IStakingHub.Pool memory before = hub.poolState(poolId);
        uint256 slashed = equivocation
            ? router.slashForEquivocation(WORKER, 1, BOB, 1)
            : router.slashForTimeout(WORKER, 1, active / 10, BOB, 1);
        IStakingHub.Pool memory afterSlash = hub.poolState(poolId);
        uint256 fromActive = before.activeStake - afterSlash.activeStake;
        uint256 fromUnbonding = before.unbondingStake - afterSlash.unbondingStake;
        assertEq(fromActive + fromUnbonding, slashed, "sum");
        uint256 total = before.activeStake + before.unbondingStake;
        assertApproxEq(fromActive, slashed * before.activeStake / total, 1, "active share");
        uint256 paidOut = pha.balanceOf(BOB) + pha.balanceOf(TREASURY);
        assertEq(paidOut, slashed, "slashed PHA fully paid out, none created");
    }

    function testFuzz_SharesRoundTripFavoursProtocol(uint256 seedStake, uint256 amount, uint256 slashes) public {
        seedStake = bound(seedStake, 1 ether, MAX_AMOUNT);
        amount = bound(amount, 1, MAX_AMOUNT);
        slashes = bound(slashes, 1, 8);
        stakeAs(OPERATOR, poolId, seedStake);
        for (uint256 i; i < slashes; ++i) router.slashForEquivocation(WORKER, i, address(0), 0);
        fund(ALICE, amount);
        vm.prank(ALICE);
        try hub.stake(poolId, amount) returns (uint256 shares) {
            assertLe(hub.stakeOf(poolId, ALICE), amount, "value <= paid");
            assertLe(hub.sharesForStake(poolId, hub.stakeOf(poolId, ALICE)), shares + 1, "ceil inverse");
        } catch {
            // Too small to mint a share at this rate: nothing taken.
            assertEq(pha.balanceOf(ALICE), amount, "refused, kept");
        }
    }
}
