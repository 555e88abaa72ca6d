// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterHubFixture} from "./RouterHubFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice A fault whose slash is starved of gas (issue 10, item 2). The router made the slash in a
/// try/catch as its last step: a caller choosing the gas limit so that the inner call ran out (the
/// 63/64 rule leaves the router enough to finish) got the timeout (or the equivocation report)
/// accepted while the worker was never slashed. The worker's own operator is the natural caller.
/// Whatever gas limit the attacker picks, a call that succeeds must have slashed.
contract RouterAttacksSlashGasTest is RouterHubFixture {
    address internal constant OPERATOR = address(0x0DE7A70);
    address internal constant DELEGATOR = address(0xDE1E);
    uint96 internal constant PRICE = 10 ether;

    uint256 internal pool;
    address internal worker;
    uint256 internal agent;
    uint64 internal operatorAccount;

    function setUp() public override {
        super.setUp();
        (pool, worker) = _poolWithWorker(OPERATOR, 1_000, FIRST_WORKER_KEY);
        _stake(OPERATOR, pool, 10_000 ether);
        _stake(DELEGATOR, pool, 100_000 ether);
        agent = _registerAgent(agentOwner, PRICE, new bytes32[](0));
        operatorAccount = _openAccount(OPERATOR, OPERATOR, 1_000 ether);
    }

    function test_StarvedTimeoutNeverSucceedsWithoutTheSlash() public {
        IAgentRouter.AgentRequest memory req = _requestAs(OPERATOR, operatorAccount, agent, 20 ether);
        vm.warp(req.deadline + 1);
        bytes memory call = abi.encodeCall(AgentRouter.timeout, (req));
        uint256 least = _leastGasThatSucceeds(call);
        assertTrue(_slashedWith(call, least), "the cheapest successful timeout slashed");
        for (uint256 extra = 1; extra < 20_000; extra += 211) {
            assertTrue(_slashedWith(call, least + extra), "every successful timeout slashed");
        }
    }

    function test_StarvedEquivocationReportNeverSucceedsWithoutTheSlash() public {
        IAgentRouter.AgentRequest memory req = _requestAs(OPERATOR, operatorAccount, agent, 20 ether);
        uint256 key = workerKeyOf[req.worker];
        bytes memory call = abi.encodeCall(
            AgentRouter.reportEquivocation, (req, _answer(key, req, "positive", 0), _answer(key, req, "negative", 0))
        );
        uint256 least = _leastGasThatSucceeds(call);
        assertTrue(_slashedWith(call, least), "the cheapest successful report slashed");
        for (uint256 extra = 1; extra < 20_000; extra += 211) {
            assertTrue(_slashedWith(call, least + extra), "every successful report slashed");
        }
    }

    function test_RevertWhen_TheCallerLeavesTooLittleGasForTheSlash() public {
        IAgentRouter.AgentRequest memory req = _requestAs(OPERATOR, operatorAccount, agent, 20 ether);
        vm.warp(req.deadline + 1);
        uint256 least = _leastGasThatSucceeds(abi.encodeCall(AgentRouter.timeout, (req)));
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.InsufficientGasForSlash.selector, router.SLASH_GAS()));
        vm.prank(OPERATOR);
        router.timeout{gas: least - 1_000}(req);
    }

    // ---------------------------------------------------------------- helpers

    /// @dev Outcome of `call` from the operator with exactly `gasLimit` gas, then rolled back.
    function _run(bytes memory call, uint256 gasLimit) internal returns (bool ok, bool slashed) {
        uint256 snapshot = vm.snapshotState();
        uint256 before = _atStake(pool);
        vm.prank(OPERATOR);
        (ok,) = address(router).call{gas: gasLimit}(call);
        slashed = _atStake(pool) < before;
        vm.revertToState(snapshot);
    }

    function _slashedWith(bytes memory call, uint256 gasLimit) internal returns (bool) {
        (bool ok, bool slashed) = _run(call, gasLimit);
        assertTrue(ok, "more gas than the least still succeeds");
        return slashed;
    }

    /// @dev Binary search for the smallest gas limit with which `call` succeeds.
    function _leastGasThatSucceeds(bytes memory call) internal returns (uint256 high) {
        uint256 low = 21_000;
        high = 3_000_000;
        (bool ok,) = _run(call, high);
        assertTrue(ok, "succeeds with plenty of gas");
        while (high - low > 1) {
            uint256 mid = (low + high) / 2;
            (ok,) = _run(call, mid);
            if (ok) high = mid;
            else low = mid;
        }
    }
}
