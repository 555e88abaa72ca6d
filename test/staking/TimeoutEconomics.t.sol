// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterHubFixture} from "../core/RouterHubFixture.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice Who gains from a missed deadline (issue 10, item 3), on the real router, StakingHub and
/// StakingVault with the deployed parameters. On the old code a timeout slashed 1% of the pool's
/// stake, paid 40% of it to the requester's account owner and 10% to the caller, and refunded the
/// request in full: a 10 PHA request earned its requester ~500 PHA, an operator timing out its own
/// worker 10 times gained ~4,781 PHA while its delegators lost ~9,466, and a vault manager drained
/// its vault from 100k to 60.5k. Now the slash is 2 worker fees (0.2 PHA) whatever the pool's
/// size, the caller gets back at most its gas (30,000 gas at 1 gwei = 0.00003 PHA), the requester
/// gets its full refund and nothing more, and the rest goes to the treasury. Every actor's result
/// is counted in PHA, gas included at the deployment's 1 gwei of PHA per gas.
contract TimeoutEconomicsTest is RouterHubFixture {
    address internal constant OPERATOR = address(0x0DE7A70);
    address internal constant DELEGATOR = address(0xDE1E);
    address internal constant REQUESTER = address(0x4E0);
    address internal constant DEPOSITOR = address(0xDE9051);
    address internal constant CALLER = address(0xCA11);
    uint96 internal constant PRICE = 9 ether;
    uint96 internal constant REQUEST_FEE = 10 ether;
    uint256 internal constant PENALTY = 0.2 ether; // 2 worker fees of 0.1 PHA
    uint256 internal constant REWARD = 30_000 * 1 gwei;
    /// @dev Intrinsic gas of a transaction, which gasleft() around a call does not see.
    uint256 internal constant TX_GAS = 21_000;

    uint256 internal agent;

    function setUp() public override {
        super.setUp();
        agent = _registerAgent(agentOwner, PRICE, new bytes32[](0));
    }

    function test_RequesterGetsItsRefundAndNothingMore() public {
        (uint256 pool,) = _poolWithWorker(OPERATOR, 1_000, FIRST_WORKER_KEY);
        _stake(DELEGATOR, pool, 125_000 ether); // 1% of it was 1,250 PHA, 500 of them to the requester
        uint64 account = _openAccount(REQUESTER, REQUESTER, REQUEST_FEE);
        IAgentRouter.AgentRequest memory req = _requestAs(REQUESTER, account, agent, REQUEST_FEE);
        vm.warp(req.deadline + 1);
        uint256 treasuryBefore = token.balanceOf(GOVERNANCE_TREASURY);
        vm.prank(CALLER);
        router.timeout(req);

        // Review s25 C1: the capacity fee (priced at request, part of maxFee) is refunded with the rest.
        assertTrue(req.capacityFee != 0, "the request was priced a capacity fee");
        assertEq(req.maxFee, REQUEST_FEE, "maxFee is the whole reservation");
        assertEq(router.accountOf(account).balance, REQUEST_FEE, "refunded in full, the capacity fee too");
        assertEq(router.accountOf(account).reserved, 0, "nothing left reserved");
        assertEq(token.balanceOf(REQUESTER), 0, "and nothing more");
        // The penalty and the capacity fee the requester got back (0.0000064 PHA on this empty router),
        // both from the operator's bond.
        uint256 slash = PENALTY + req.capacityFee;
        assertEq(_atStake(pool), 125_000 ether + MIN_BOND - slash, "the pool lost 0.2 PHA and the capacity fee, not 1,250");
        assertEq(_poolStake(pool), 125_000 ether, "from its operator's bond, none from its stakers");
        assertEq(token.balanceOf(CALLER), REWARD, "the caller got its gas back, 0.00003 PHA");
        assertEq(token.balanceOf(GOVERNANCE_TREASURY) - treasuryBefore, slash - REWARD, "the rest to the treasury");
    }

    /// @dev The operator requests from its own account and times its own worker out 10 times.
    function test_OperatorTimingOutItsOwnWorkerLosesMoney() public {
        (uint256 pool,) = _poolWithWorker(OPERATOR, 1_000, FIRST_WORKER_KEY);
        _stake(OPERATOR, pool, 10_000 ether);
        _stake(DELEGATOR, pool, 100_000 ether);
        _postBond(OPERATOR, pool, 10 * PENALTY); // a margin: the minimum stays posted throughout
        uint64 account = _openAccount(OPERATOR, OPERATOR, 100 ether);
        (uint256 operatorLoss, uint256 delegatorLoss, uint256 slashes) = _selfTimeouts(pool, account, 10);

        // Its bond pays every slash (10 * (0.2 PHA + capacity fee)), less 10 * 0.00003 of rewards; plus its gas.
        assertGe(operatorLoss, slashes - 10 * REWARD, "the operator pays every slash, and its gas");
        assertEq(delegatorLoss, 0, "delegators lose nothing (before the bond: 1.82 PHA; before s24: 9,466)");
    }

    /// @dev The same with no stake of the operator's own: the rewards still do not cover its gas.
    function test_OperatorWithoutStakeStillLosesMoney() public {
        (uint256 pool,) = _poolWithWorker(OPERATOR, 5_000, FIRST_WORKER_KEY);
        _stake(DELEGATOR, pool, 100_000 ether);
        _postBond(OPERATOR, pool, 10 * PENALTY);
        uint64 account = _openAccount(OPERATOR, OPERATOR, 100 ether);
        (uint256 operatorLoss, uint256 delegatorLoss, uint256 slashes) = _selfTimeouts(pool, account, 10);
        assertGe(operatorLoss, slashes - 10 * REWARD, "its bond pays the slashes; rewards never cover them");
        assertEq(delegatorLoss, 0, "delegators lose nothing (before the bond: 2 PHA and the capacity fees)");
    }

    /// @dev A vault manager runs its own pool at 50% commission, puts the whole vault in it and has
    /// its worker miss 50 deadlines of its own requests.
    function test_VaultManagerCannotDrainTheVault() public {
        (uint256 pool,) = _poolWithWorker(VAULT_MANAGER, 5_000, FIRST_WORKER_KEY);
        token.transfer(DEPOSITOR, 100_000 ether);
        vm.startPrank(DEPOSITOR);
        token.approve(address(vault), 100_000 ether);
        vault.deposit(100_000 ether, DEPOSITOR);
        vm.stopPrank();
        vm.prank(VAULT_MANAGER);
        vault.allocate(pool, 100_000 ether);
        _postBond(VAULT_MANAGER, pool, 50 * PENALTY);
        uint64 account = _openAccount(VAULT_MANAGER, VAULT_MANAGER, 100 ether);

        (uint256 managerLoss,, uint256 slashes) = _selfTimeouts(pool, account, 50);
        assertEq(vault.totalAssets(), 100_000 ether, "the vault lost nothing (before the bond: 10 PHA; s23: 39,500)");
        assertGe(managerLoss, slashes - 50 * REWARD, "the manager's bond paid for it");
    }

    // ---------------------------------------------------------------- helpers

    /// @dev `count` requests by `op` (the pool's operator or manager) from its account, each left
    /// unanswered and timed out by `op`. Returns what op lost in PHA (wallet, account and own stake,
    /// its gas counted at 1 gwei of PHA per gas), failing if it gained, what the pool's other stake
    /// lost, and the slashes due: each request's penalty plus its (refunded) capacity fee.
    function _selfTimeouts(uint256 pool, uint64 account, uint256 count)
        internal
        returns (uint256 opLoss, uint256 othersLoss, uint256 slashes)
    {
        address op = hub.poolState(pool).operator;
        uint256 opBefore = _holdings(op, pool, account);
        uint256 othersBefore = _poolStake(pool) - hub.stakeOf(pool, op);
        uint256 gasUsed;
        for (uint256 i; i < count; ++i) {
            vm.recordLogs();
            vm.prank(op);
            uint256 start = gasleft();
            router.request(account, agent, "hello", 0, 0, REQUEST_FEE);
            gasUsed += start - gasleft() + TX_GAS;
            IAgentRouter.AgentRequest memory req = _requestFromLogs();
            slashes += PENALTY + req.capacityFee;
            vm.warp(req.deadline + 1);
            vm.prank(op);
            start = gasleft();
            router.timeout(req);
            gasUsed += start - gasleft() + TX_GAS;
        }
        uint256 opAfter = _holdings(op, pool, account);
        uint256 spent = opBefore + gasUsed * 1 gwei;
        assertLe(opAfter, spent, "no gain from its own worker's missed deadlines");
        opLoss = spent - opAfter;
        othersLoss = othersBefore - (_poolStake(pool) - hub.stakeOf(pool, op));
    }

    function _holdings(address who, uint256 pool, uint64 account) internal view returns (uint256) {
        // The pool's operator bond is `who`'s (it is the pool's operator).
        return token.balanceOf(who) + router.accountOf(account).balance + hub.stakeOf(pool, who) + _bond(pool);
    }
}
