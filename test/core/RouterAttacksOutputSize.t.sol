// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {RecordingConsumer} from "./TestDoubles.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice Relayers under-reimbursed for large outputs (finding, low). The fee estimate assumed about
/// 1 KB of output calldata while an answer's output was unbounded, and `CallbackFailed` logged the
/// whole output (8 gas per byte): a request reserving the minimum fee whose agent answered 64 KiB
/// left the relayer paying for most of it, its fee capped by the exhausted reservation. Now the
/// router accepts at most MAX_OUTPUT_BYTES, every request reserves the gas of that many non-zero
/// bytes, and the failed callback logs the output's hash.
contract RouterAttacksOutputSizeTest is RouterFixture {
    /// @dev Intrinsic gas of a transaction, outside what a call inside the test sees.
    uint256 internal constant TX_GAS = 21_000;

    /// @dev The worst case: the minimum fee, the largest output of non-zero bytes, a callback that
    /// burns all its gas and fails (so CallbackFailed is logged).
    function test_attack_aMaxSizeOutputIsReimbursedInFull() public {
        consumer.setMode(RecordingConsumer.Mode.BurnGas);
        uint96 maxFee = uint96(router.estimateFee(agentId, CALLBACK_GAS));
        IAgentRouter.AgentRequest memory req = _request("x", CALLBACK_GAS, maxFee);
        bytes memory output = _nonZeroBytes(router.MAX_OUTPUT_BYTES());
        IAgentRouter.Fulfillment memory f = _fulfillment(req, output);
        bytes memory transaction = abi.encodeCall(AgentRouter.fulfill, (f));
        uint256 calldataGas = _calldataGas(transaction);

        vmx.expectEmit(true, false, false, true, address(router));
        emit IAgentRouter.CallbackFailed(req.id, keccak256(output));
        vm.recordLogs();
        vm.prank(relayer);
        // Encoded beforehand, so the gas measured is the router's (and a cold call's 2,600 on top).
        uint256 before = gasleft();
        (bool ok,) = address(router).call(transaction);
        uint256 executionGas = before - gasleft();
        assertTrue(ok, "settled");
        (, uint256 refund, bool callbackSucceeded) = _settlementFromLogs();

        assertFalse(callbackSucceeded, "callback failed");
        assertGe(refund, 1, "the reservation was not exhausted: the relayer's fee was not capped");
        // Uncapped, the relayer is paid the router's meter: the transaction's calldata as the EVM
        // charges it, the execution from the fulfil's start to its fee, and the config's fixed
        // overhead for the rest (intrinsic gas, the last writes; calibrated by `npm run bench:gas`).
        uint256 metered = router.earnings(relayer) / PHA_PER_GAS;
        assertGe(metered, calldataGas + OVERHEAD_GAS + CALLBACK_GAS, "calldata, overhead and the burnt callback paid");
        assertLe(executionGas + TX_GAS + calldataGas, metered + OVERHEAD_GAS, "and within an overhead of the real cost");
    }

    function test_RevertWhen_TheOutputIsLongerThanTheRouterAccepts() public {
        IAgentRouter.AgentRequest memory req = _request();
        uint256 length = router.MAX_OUTPUT_BYTES() + 1;
        IAgentRouter.Fulfillment memory f = _fulfillment(req, _nonZeroBytes(length));
        vm.prank(relayer);
        vm.expectRevert(abi.encodeWithSelector(IAgentRouter.OutputTooLarge.selector, req.id, length));
        router.fulfill(f);
        assertTrue(router.isPending(req.id), "still pending");
    }

    function test_TheEstimateReservesTheLargestOutput() public view {
        AgentRouterState.Config memory config = router.feeConfig();
        assertEq(
            router.estimateFee(agentId, CALLBACK_GAS),
            _expectedEstimate(AGENT_PRICE, CALLBACK_GAS, config),
            "price, worker fee, protocol fee and the gas of a max-size answer"
        );
        assertEq(router.MAX_OUTPUT_BYTES(), 65_536, "the worker's default output limit");
    }

    function _nonZeroBytes(uint256 length) internal pure returns (bytes memory data) {
        data = new bytes(length);
        assembly ("memory-safe") {
            for { let i := 0 } lt(i, length) { i := add(i, 0x20) } { mstore(add(add(data, 0x20), i), not(0)) }
        }
    }

    function _calldataGas(bytes memory data) internal pure returns (uint256 gas) {
        for (uint256 i; i < data.length; ++i) gas += data[i] == 0 ? 4 : 16;
    }
}
