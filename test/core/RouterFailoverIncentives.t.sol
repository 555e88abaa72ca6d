// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterHubFixture} from "./RouterHubFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice Who gains from a handover (issue 15), with the real StakingHub and the deployed parameters
/// (worker fee 0.1 PHA, timeout penalty 2 worker fees, 1 gwei of PHA per gas, 120 s timeout). A
/// backup's operator that causes the handover (say, by DoS-ing the primary) earns the worker fee for
/// the work it did and nothing else; the primary's pool pays a request-sized penalty, all of it to the
/// treasury, from its operator's bond before any staker; an operator's own second pool is never its
/// backup, and one under a second address (a Sybil, which no address rule can catch) gains its
/// operator nothing either (review s25 F2); no gas limit skips the slash.
contract RouterFailoverIncentivesTest is RouterHubFixture {
    event MeasuredSigned(string what, int256 value);

    address internal constant OPERATOR_A = address(0xA0);
    address internal constant OPERATOR_A_SYBIL = address(0xA1);
    address internal constant OPERATOR_B = address(0xB0);
    address internal constant OPERATOR_C = address(0xC0);
    address internal constant DELEGATOR = address(0xDE1E);
    address internal constant REQUESTER = address(0x4E0);
    uint96 internal constant PRICE = 1 ether;
    uint96 internal constant REQUEST_MAX_FEE = 5 ether;
    bytes internal constant ANSWER = "positive";

    uint256 internal agent;
    uint64 internal account;
    mapping(address worker => uint256) internal poolOf;

    function setUp() public override {
        super.setUp();
        _pool(OPERATOR_A, FIRST_WORKER_KEY, 10_000 ether, 100_000 ether);
        _pool(OPERATOR_B, FIRST_WORKER_KEY + 1, 10_000 ether, 50_000 ether);
        _pool(OPERATOR_C, FIRST_WORKER_KEY + 2, 10_000 ether, 20_000 ether);
        agent = _registerAgent(agentOwner, PRICE, new bytes32[](0));
        account = _openAccount(REQUESTER, REQUESTER, 1_000 ether);
        // Backups are drawn on the weights at the start of the request's day: let the stake count.
        vm.warp(block.timestamp + 1 days);
    }

    // ---------------------------------------------------------------- (a) the backup gains its fee only

    function test_ABackupThatCausesTheHandoverEarnsTheWorkerFeeAndNothingElse() public {
        IAgentRouter.AgentRequest memory req = _requestAs(REQUESTER, account, agent, REQUEST_MAX_FEE);
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        address backupOperator = workers.operatorOf(backup);
        // The backup's operator kept the primary down and relays its own backup's answer.
        vm.warp(opensAt);
        IAgentRouter.Fulfillment memory answer = _backupAnswer(req, backup);
        uint256 tokensBefore = token.balanceOf(backupOperator);
        uint256 backupStakeBefore = _atStake(poolOf[backup]);
        uint256 gasBefore = gasleft();
        vm.prank(backupOperator);
        router.fulfillAsBackup(answer, 1);
        uint256 gasUsed = gasBefore - gasleft();

        assertEq(router.workerFees(backup), deployedConfig().workerFee, "its pool earns the worker fee");
        assertEq(token.balanceOf(backupOperator), tokensBefore, "no PHA of the penalty to the operator");
        assertEq(_atStake(poolOf[backup]), backupStakeBefore, "its pool's stake is untouched");
        // As relayer it is reimbursed the gas it metered, at the request's rate, and not a wei more:
        // what any relayer of any answer gets.
        uint256 gasPaid = router.earnings(backupOperator) / deployedConfig().phaPerGas;
        assertLe(gasPaid, gasUsed + deployedConfig().fulfillOverheadGas, "gas reimbursement only");
    }

    // ---------------------------------------------------------------- (b) the primary's penalty

    function test_ThePrimaryPaysARequestSizedPenaltyAllToTheTreasury() public {
        IAgentRouter.AgentRequest memory req = _requestAs(REQUESTER, account, agent, REQUEST_MAX_FEE);
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        vm.warp(opensAt);
        IAgentRouter.Fulfillment memory answer = _backupAnswer(req, backup);
        uint256 primaryStake = _poolStake(poolOf[req.worker]);
        uint256 primaryBond = _bond(poolOf[req.worker]);
        uint256 treasuryBefore = token.balanceOf(GOVERNANCE_TREASURY);
        vm.prank(workers.operatorOf(backup));
        router.fulfillAsBackup(answer, 1);

        uint256 penalty = uint256(deployedConfig().workerFee) * deployedConfig().timeoutPenaltyBps / 10_000;
        assertEq(penalty, 0.2 ether, "two worker fees");
        assertEq(primaryBond - _bond(poolOf[req.worker]), penalty, "the primary's operator bond pays the penalty");
        assertEq(_poolStake(poolOf[req.worker]), primaryStake, "and none of its stakers");
        assertEq(token.balanceOf(GOVERNANCE_TREASURY) - treasuryBefore, penalty, "all of it to the treasury");
        assertEq(router.pendingOf(req.worker), 0, "and its slot is free");
    }

    // ---------------------------------------------------------------- (c) collusion

    /// @dev An operator with two pools: its second pool is never drawn as the first's backup, so
    /// skipping the primary's window only moves the fee to another operator and costs the penalty.
    function test_AnOperatorsOtherPoolIsNeverItsBackup() public {
        // OPERATOR_A's second pool, the heaviest of all: without the rule it would be drawn most.
        address second = _pool(OPERATOR_A, FIRST_WORKER_KEY + 3, 10_000 ether, 500_000 ether);
        vm.warp(block.timestamp + 1 days); // its stake backs backups from the next day
        uint256 seen;
        for (uint256 i; i < 40; ++i) {
            vm.prevrandao(bytes32(i));
            IAgentRouter.AgentRequest memory req = _requestAs(REQUESTER, account, agent, REQUEST_MAX_FEE);
            for (uint256 rank = 1; rank <= 2; ++rank) {
                try router.backupWorker(req, rank) returns (address backup, uint64) {
                    assertTrue(
                        workers.operatorOf(backup) != workers.operatorOf(req.worker), "never the primary's operator"
                    );
                    if (backup == second) ++seen;
                } catch (bytes memory reason) {
                    assertEq(bytes4(reason), IAgentRouter.NoBackup.selector, "only NoBackup");
                }
            }
            // Answered, not timed out: 40 slashes would use up the bonds and take pools out of the draw.
            router.fulfill(_primaryAnswer(req));
        }
        assertTrue(seen > 0, "the second pool is a backup of the other operators' requests");
    }

    /// @dev The numbers: a request answered by its primary against the same request whose primary
    /// skipped its window and was answered by a backup. The primary's and the backup's pools together
    /// are worse off by the penalty; the consumer pays the same price and fee either way.
    function test_SkippingTheWindowCostsThePenaltyToThePairOfPools() public {
        IAgentRouter.AgentRequest memory req = _requestAs(REQUESTER, account, agent, REQUEST_MAX_FEE);
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        vm.warp(opensAt);
        uint256 snapshot = vm.snapshotState();
        uint256 balance = router.accountOf(account).balance;

        // Honest: the primary answers in the backup's window (still its right).
        router.fulfill(_primaryAnswer(req));
        int256 honest = _value(req.worker) + _value(backup);
        uint256 honestPaid = balance - router.accountOf(account).balance;
        vm.revertToState(snapshot);

        router.fulfillAsBackup(_backupAnswer(req, backup), 1);
        int256 skipped = _value(req.worker) + _value(backup);
        uint256 skippedPaid = balance - router.accountOf(account).balance;

        uint256 penalty = uint256(deployedConfig().workerFee) * deployedConfig().timeoutPenaltyBps / 10_000;
        assertEq(uint256(honest - skipped), penalty, "the pair of pools loses exactly the penalty");
        // The consumer is charged the same price and fees; only the metered gas differs (the draw and
        // the slash are dearer than nothing), within 200k gas at 1 gwei.
        assertApproxEq(honestPaid, skippedPaid, 200_000 gwei, "the consumer pays about the same");
    }

    /// @dev Review s25 F2, the attack: operator A runs P1 (10,000 PHA own + 100,000 delegated, 10 %
    /// commission) and, under a second address, P2 (10,000 PHA own). On a request of P1's whose
    /// rank-1 backup is P2 it skips its window and relays P2's answer. Before the operator bond the
    /// 0.2 PHA penalty came pro rata out of P1's stake (91 % from its delegators) while P2 took the
    /// 0.1 PHA fee: A gained 0.064 PHA, its delegators lost 0.264. Now the bond pays the penalty.
    /// Measured against the same request answered by the primary: A −0.1182 PHA (0.1 fee in P2,
    /// −0.2 of its bond, −0.0182 of commission and own share of P1's fee), the delegators' stake
    /// untouched (they miss only the fee their pool did not earn, 0.0818 PHA, as with any downtime).
    function test_Attack_F2_SkippingForASybilBackupCostsTheOperatorNotItsDelegators() public {
        address primary = _firstWorkerOf(OPERATOR_A);
        address sybil = _sybilPool(OPERATOR_A_SYBIL, FIRST_WORKER_KEY + 3, 10_000 ether);
        vm.warp(block.timestamp + 1 days); // the new pool backs requests from the next day on
        assertTrue(workers.operatorOf(sybil) != workers.operatorOf(primary), "the rule sees two operators");
        IAgentRouter.AgentRequest memory req = _requestWithBackup(primary, sybil);
        (, uint64 opensAt) = router.backupWorker(req, 1);
        vm.warp(opensAt);
        uint256 delegatorStake = hub.stakeOf(poolOf[primary], DELEGATOR);

        uint256 snapshot = vm.snapshotState();
        router.fulfill(_primaryAnswer(req));
        (int256 operatorHonest,) = _operatorAndDelegators(primary, sybil);
        vm.revertToState(snapshot);

        vm.prank(OPERATOR_A_SYBIL);
        router.fulfillAsBackup(_backupAnswer(req, sybil), 1);
        (int256 operatorSkip, int256 delegatorsSkip) = _operatorAndDelegators(primary, sybil);

        int256 gain = operatorSkip - operatorHonest;
        emit MeasuredSigned("operator A (both addresses) gains by skipping, PHA wei", gain);
        assertTrue(gain <= -0.1 ether, "skipping costs the operator at least the worker fee");
        assertEq(hub.stakeOf(poolOf[primary], DELEGATOR), delegatorStake, "its delegators lose no stake");
        assertGe(uint256(delegatorsSkip), delegatorStake, "and their position is worth no less");
    }

    /// @dev The same operator lets its own worker's request time out (no backup answers) and calls the
    /// timeout itself for the caller's gas reward: its bond pays the 0.2 PHA, its delegators nothing.
    function test_Attack_ASelfCausedTimeoutCostsTheOperatorNotItsDelegators() public {
        address primary = _firstWorkerOf(OPERATOR_A);
        address sybil = _sybilPool(OPERATOR_A_SYBIL, FIRST_WORKER_KEY + 3, 10_000 ether);
        vm.warp(block.timestamp + 1 days); // the new pool backs requests from the next day on
        IAgentRouter.AgentRequest memory req = _requestWithBackup(primary, sybil);
        uint256 delegatorStake = hub.stakeOf(poolOf[primary], DELEGATOR);

        uint256 snapshot = vm.snapshotState();
        router.fulfill(_primaryAnswer(req));
        (int256 operatorHonest,) = _operatorAndDelegators(primary, sybil);
        vm.revertToState(snapshot);

        vm.warp(req.deadline + 1);
        uint256 walletBefore = token.balanceOf(OPERATOR_A);
        vm.prank(OPERATOR_A);
        router.timeout(req);
        (int256 operatorTimedOut,) = _operatorAndDelegators(primary, sybil);
        int256 gain = operatorTimedOut + int256(token.balanceOf(OPERATOR_A) - walletBefore) - operatorHonest;

        emit MeasuredSigned("operator A gains by timing its own request out, PHA wei", gain);
        assertTrue(gain <= -0.1 ether, "a self-caused timeout costs the operator at least the worker fee");
        assertEq(hub.stakeOf(poolOf[primary], DELEGATOR), delegatorStake, "its delegators lose no stake");
    }

    // ---------------------------------------------------------------- (d) no gas limit skips the slash

    function test_StarvedHandoverNeverSucceedsWithoutTheSlash() public {
        IAgentRouter.AgentRequest memory req = _requestAs(REQUESTER, account, agent, REQUEST_MAX_FEE);
        (address backup, uint64 opensAt) = router.backupWorker(req, 1);
        vm.warp(opensAt);
        IAgentRouter.Fulfillment memory answer = _backupAnswer(req, backup);
        bytes memory call = abi.encodeCall(AgentRouter.fulfillAsBackup, (answer, 1));
        uint256 pool = poolOf[req.worker];
        uint256 least = _leastGasThatSucceeds(call, pool);
        for (uint256 extra; extra < 20_000; extra += 211) {
            (bool ok, bool slashed) = _run(call, least + extra, pool);
            assertTrue(ok, "more gas than the least still succeeds");
            assertTrue(slashed, "every successful handover slashed the primary");
        }
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.InsufficientGasForSlash.selector, router.SLASH_GAS()));
        router.fulfillAsBackup{gas: least - 1_000}(answer, 1);
    }

    // ---------------------------------------------------------------- helpers

    function _pool(address op, uint256 key, uint256 own, uint256 delegated) internal returns (address worker) {
        uint256 poolId;
        (poolId, worker) = _poolWithWorker(op, 1_000, key);
        _stake(op, poolId, own);
        _stake(DELEGATOR, poolId, delegated);
        poolOf[worker] = poolId;
    }

    /// @dev A pool of `op` holding only `own` of its stake (a second identity's), with the bond posted.
    function _sybilPool(address op, uint256 key, uint256 own) internal returns (address worker) {
        uint256 poolId;
        (poolId, worker) = _poolWithWorker(op, 1_000, key);
        _stake(op, poolId, own);
        poolOf[worker] = poolId;
    }

    function _firstWorkerOf(address op) internal view returns (address) {
        for (uint256 i = 1; i <= hub.poolCount(); ++i) {
            if (hub.poolState(i).operator == op) return hub.poolState(i).firstWorker;
        }
        revert("no pool");
    }

    /// @dev A request whose primary is `primary` and whose rank-1 backup is `backup`; the requests
    /// drawn otherwise are answered by their primaries (no slash moves any bond). Bounded.
    function _requestWithBackup(address primary, address backup)
        internal
        returns (IAgentRouter.AgentRequest memory req)
    {
        for (uint256 i; i < 200; ++i) {
            vm.prevrandao(bytes32(i));
            req = _requestAs(REQUESTER, account, agent, REQUEST_MAX_FEE);
            if (req.worker == primary) {
                try router.backupWorker(req, 1) returns (address drawn, uint64) {
                    if (drawn == backup) return req;
                } catch {}
            }
            router.fulfill(_primaryAnswer(req));
        }
        revert("no such request");
    }

    /// @dev Operator A's value over both addresses (positions with claimable rewards, commission and
    /// bonds) and P1's delegators' (position with claimable rewards), both workers' fees harvested.
    function _operatorAndDelegators(address primary, address sybil)
        internal
        returns (int256 operator, int256 delegators)
    {
        hub.harvest(primary);
        hub.harvest(sybil);
        uint256 p1 = poolOf[primary];
        uint256 p2 = poolOf[sybil];
        operator = int256(
            hub.positionValue(p1, OPERATOR_A) + hub.poolState(p1).commissionAccrued + _bond(p1)
                + hub.positionValue(p2, OPERATOR_A_SYBIL) + hub.poolState(p2).commissionAccrued + _bond(p2)
        );
        delegators = int256(hub.positionValue(p1, DELEGATOR));
    }

    /// @dev A pool's stake and bond plus the fees its worker has accrued in the router.
    function _value(address worker) internal view returns (int256) {
        return int256(_atStake(poolOf[worker]) + router.workerFees(worker));
    }

    function _primaryAnswer(IAgentRouter.AgentRequest memory req) internal view returns (IAgentRouter.Fulfillment memory) {
        return _signedBy(req, req.worker);
    }

    function _backupAnswer(IAgentRouter.AgentRequest memory req, address backup)
        internal
        view
        returns (IAgentRouter.Fulfillment memory)
    {
        return _signedBy(req, backup);
    }

    function _signedBy(IAgentRouter.AgentRequest memory req, address worker)
        internal
        view
        returns (IAgentRouter.Fulfillment memory)
    {
        return _signedAs(req, workerKeyOf[worker], worker, ANSWER);
    }

    /// @dev Outcome of `call` with exactly `gasLimit` gas, then rolled back.
    function _run(bytes memory call, uint256 gasLimit, uint256 pool) internal returns (bool ok, bool slashed) {
        uint256 snapshot = vm.snapshotState();
        uint256 before = _atStake(pool);
        (ok,) = address(router).call{gas: gasLimit}(call);
        slashed = _atStake(pool) < before;
        vm.revertToState(snapshot);
    }

    /// @dev Binary search for the smallest gas limit with which `call` succeeds.
    function _leastGasThatSucceeds(bytes memory call, uint256 pool) internal returns (uint256 high) {
        uint256 low = 21_000;
        high = 3_000_000;
        (bool ok,) = _run(call, high, pool);
        assertTrue(ok, "succeeds with plenty of gas");
        while (high - low > 1) {
            uint256 mid = (low + high) / 2;
            (ok,) = _run(call, mid, pool);
            if (ok) high = mid;
            else low = mid;
        }
    }
}
