// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IWorkerStaking} from "../../contracts/interfaces/IWorkerStaking.sol";

/// @notice Governance turned attacker (issue 10, item 8): after requests are open it raises every fee
/// parameter to its ceiling and relays the answers itself, or points fee collection at itself. A
/// request must settle on the terms it was opened with, and the staking contract is wired once.
contract RouterAttacksGovernanceTest is RouterFixture {
    bytes internal constant OUTPUT = "positive";

    function _greedyConfig() internal view returns (AgentRouterState.Config memory config) {
        config = _defaultConfig();
        config.workerFee = router.MAX_WORKER_FEE();
        config.phaPerGas = router.MAX_PHA_PER_GAS();
        config.protocolFeeBps = router.MAX_PROTOCOL_FEE_BPS();
        config.fulfillOverheadGas = router.MAX_FULFILL_OVERHEAD_GAS();
    }

    /// @dev On the old code the worker fee, protocol share and relayer gas were read at settlement:
    /// the raise took the whole 10 PHA reservation instead of its ~2.6 PHA.
    function test_RaisingFeesAfterTheRequestTakesNothingExtra() public {
        IAgentRouter.AgentRequest memory req = _request();
        assertEq(req.configVersion, 1, "opened under version 1");
        router.setConfig(_greedyConfig());

        vm.recordLogs();
        router.fulfill(_fulfillment(req, OUTPUT)); // governance relays its own transaction
        (uint256 totalFee, uint256 refund,) = _settlementFromLogs();

        uint256 protocolFee = (uint256(AGENT_PRICE) + WORKER_FEE) * PROTOCOL_FEE_BPS / 10_000;
        uint256 relayerFee = router.earnings(address(this));
        assertEq(router.workerFees(req.worker), WORKER_FEE, "worker fee of version 1");
        assertEq(router.protocolFees(), protocolFee, "protocol share of version 1");
        // Version 1's 1 gwei per gas: the callback's 200k gas plus the overhead stay far below 0.001 PHA.
        assertLe(relayerFee, 0.001 ether, "relayer paid at version 1's rate");
        assertEq(totalFee, AGENT_PRICE + WORKER_FEE + protocolFee + relayerFee, "nothing else charged");
        assertEq(refund, MAX_FEE - totalFee, "the rest refunded");
        assertGe(refund, 7 ether, "most of the reservation comes back");
    }

    function test_RaisedTermsApplyToRequestsOpenedAfterwards() public {
        AgentRouterState.Config memory config = _defaultConfig();
        config.workerFee = 1 ether;
        router.setConfig(config);
        IAgentRouter.AgentRequest memory req = _request();
        assertEq(req.configVersion, 2, "opened under version 2");
        router.fulfill(_fulfillment(req, OUTPUT));
        assertEq(router.workerFees(req.worker), 1 ether, "version 2's worker fee");
        assertEq(router.configAt(1).workerFee, WORKER_FEE, "version 1 kept");
    }

    function test_BatchSettlesEachRequestOnItsOwnVersion() public {
        IAgentRouter.AgentRequest memory early = _request();
        AgentRouterState.Config memory config = _defaultConfig();
        config.workerFee = 1 ether;
        router.setConfig(config);
        IAgentRouter.AgentRequest memory late = _request();
        IAgentRouter.Fulfillment[] memory batch = new IAgentRouter.Fulfillment[](2);
        batch[0] = _fulfillment(early, OUTPUT);
        batch[1] = _fulfillment(late, OUTPUT);
        router.fulfillBatch(batch);
        uint256 total;
        for (uint256 i; i < WORKER_COUNT; ++i) {
            total += router.workerFees(workerAddrs[i]);
        }
        assertEq(total, WORKER_FEE + 1 ether, "0.5 PHA for the early request, 1 PHA for the late one");
    }

    /// @dev On the old code governance could re-point staking at a contract of its own and collect
    /// every worker fee accrued in the router.
    function test_StakingCannotBeRepointed() public {
        address worker = _settleOne();
        assertEq(router.workerFees(worker), WORKER_FEE, "accrued for the pool");
        vm.expectRevert(IAgentRouter.StakingAlreadySet.selector);
        router.setStaking(IWorkerStaking(address(this)));
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.NotStaking.selector, address(this)));
        router.collectWorkerFees(worker);
        assertEq(staking.collect(router, worker), WORKER_FEE, "only the wired staking collects");
    }

    function test_RevertWhen_ParametersExceedTheirHardBounds() public {
        AgentRouterState.Config memory config = _defaultConfig();
        config.workerFee = router.MAX_WORKER_FEE() + 1;
        _expectInvalidConfig(config);
        config = _defaultConfig();
        config.phaPerGas = router.MAX_PHA_PER_GAS() + 1;
        _expectInvalidConfig(config);
        config = _defaultConfig();
        config.fulfillOverheadGas = router.MAX_FULFILL_OVERHEAD_GAS() + 1;
        _expectInvalidConfig(config);
        uint32 inputLimit = router.MAX_INPUT_BYTES_LIMIT();
        vm.expectRevert(IAgentRouter.InvalidConfig.selector);
        router.setMaxInputBytes(inputLimit + 1);

        router.setConfig(_greedyConfig());
        assertEq(router.configVersion(), 2, "the ceilings themselves are accepted");
        router.setMaxInputBytes(inputLimit);
    }

    function _settleOne() internal returns (address worker) {
        IAgentRouter.AgentRequest memory req = _request();
        vm.prank(relayer);
        router.fulfill(_fulfillment(req, OUTPUT));
        return req.worker;
    }

    function _expectInvalidConfig(AgentRouterState.Config memory config) internal {
        vm.expectRevert(IAgentRouter.InvalidConfig.selector);
        router.setConfig(config);
    }
}
