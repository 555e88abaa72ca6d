// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {RecordingConsumer} from "./TestDoubles.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";

/// @notice Relayer padding calldata to take the consumer's refund (issue 10, item 4). On the old code
/// fulfilment calldata was billed at msg.data.length * 16 and the ABI decoder ignored trailing
/// bytes: the same signed answer followed by 20 KB of zeros took the whole refund. The router now
/// accepts only the canonical encoding (no trailing bytes, no gaps, zero padding) and bills each
/// byte as the EVM charges it: 4 gas if zero, 16 if not (EIP-2028).
contract RouterAttacksCalldataTest is RouterFixture {
    bytes internal constant OUTPUT = "positive";
    uint256 internal constant PADDING = 20_000;

    function test_RevertWhen_TrailingBytesPadAFulfil() public {
        IAgentRouter.AgentRequest memory req = _request();
        bytes memory data = abi.encodeCall(AgentRouter.fulfill, (_fulfillment(req, OUTPUT)));
        _expectNonCanonical(bytes.concat(data, new bytes(PADDING)));
        _expectNonCanonical(bytes.concat(data, hex"00"));

        vm.recordLogs();
        _relay(data);
        (, uint256 refund,) = _settlementFromLogs();
        assertGe(refund, MAX_FEE - AGENT_PRICE - WORKER_FEE - 1 ether, "the honest relay leaves the refund");
    }

    function test_RevertWhen_TrailingBytesPadABatch() public {
        IAgentRouter.Fulfillment[] memory batch = new IAgentRouter.Fulfillment[](2);
        batch[0] = _fulfillment(_request(), OUTPUT);
        batch[1] = _fulfillment(_request(), OUTPUT);
        bytes memory data = abi.encodeCall(AgentRouter.fulfillBatch, (batch));
        _expectNonCanonical(bytes.concat(data, new bytes(PADDING)));
        _relay(data);
        assertEq(consumer.responses(), 2, "the canonical batch settles");
    }

    /// @dev Room made inside the encoding instead: the signature moved one word further.
    function test_RevertWhen_AGapIsOpenedBetweenFields() public {
        IAgentRouter.AgentRequest memory req = _request();
        bytes memory data = abi.encodeCall(AgentRouter.fulfill, (_fulfillment(req, OUTPUT)));
        uint256 tuple = 4 + 32;
        uint256 signatureOffsetAt = tuple + 20 * 32; // after 16 request words, status and 3 offsets
        uint256 signatureAt = _word(data, signatureOffsetAt);
        _setWord(data, signatureOffsetAt, signatureAt + 32);
        bytes memory head = _slice(data, 0, tuple + signatureAt);
        bytes memory tail = _slice(data, tuple + signatureAt, data.length);
        _expectNonCanonical(bytes.concat(head, new bytes(32), tail));
    }

    function test_RevertWhen_PaddingBytesAreNotZero() public {
        IAgentRouter.AgentRequest memory req = _request();
        bytes memory data = abi.encodeCall(AgentRouter.fulfill, (_fulfillment(req, OUTPUT)));
        uint256 outputAt = 4 + 32 + _word(data, 4 + 32 + 17 * 32); // after 16 request words and status
        data[outputAt + 32 + OUTPUT.length] = 0xff; // first padding byte after the 8-byte output
        _expectNonCanonical(data);
    }

    /// @dev The same 4 KB answer, all zero bytes or all 0xff: the EVM charges the relayer 4 or 16 gas
    /// per byte, and so does the router now (the old code billed 16 for both).
    function test_ZeroBytesAreBilledAtFourGas() public {
        consumer.setMode(RecordingConsumer.Mode.Revert); // the same callback cost whatever the bytes
        // The two settlements below must cost the same to execute.
        _warmUp();
        uint256 zeros = _relayedFee(new bytes(4096));
        bytes memory ones = new bytes(4096);
        for (uint256 i; i < ones.length; ++i) {
            ones[i] = 0xff;
        }
        uint256 nonZeros = _relayedFee(ones);
        assertApproxEq(nonZeros - zeros, 12 * 4096 * PHA_PER_GAS, 300 * PHA_PER_GAS, "12 gas more per non-zero byte");
    }

    function test_RelayerFeeCoversItsCalldataButNoMoreThanItSpent() public {
        IAgentRouter.AgentRequest memory req = _request();
        bytes memory data = abi.encodeCall(AgentRouter.fulfill, (_fulfillment(req, OUTPUT)));
        uint256 calldataGas;
        for (uint256 i; i < data.length; ++i) {
            calldataGas += data[i] == 0 ? 4 : 16;
        }
        uint256 start = gasleft();
        _relay(data);
        uint256 executed = start - gasleft();
        uint256 fee = router.earnings(relayer);
        assertGe(fee, (calldataGas + OVERHEAD_GAS) * PHA_PER_GAS, "at least calldata and overhead");
        assertLe(fee, (calldataGas + OVERHEAD_GAS + executed) * PHA_PER_GAS, "no more than what was spent");
    }

    /// @dev estimateFee promises relayers full reimbursement for about 1 KB of output: with the new
    /// checks and exact billing, a 1 KB answer of non-zero bytes to a consumer burning its whole
    /// callback gas still leaves part of the minimum reservation unused.
    function test_MinimumFeeStillCoversAKilobyteAnswer() public {
        _warmUp(); // steady state: the payees' balances and the settled-bits word exist
        consumer.setMode(RecordingConsumer.Mode.BurnGas);
        uint96 maxFee = uint96(router.estimateFee(agentId, CALLBACK_GAS));
        IAgentRouter.AgentRequest memory req = _request("x", CALLBACK_GAS, maxFee);
        bytes memory output = new bytes(1024);
        for (uint256 i; i < output.length; ++i) {
            output[i] = bytes1(uint8(i % 255) + 1);
        }
        vm.recordLogs();
        _relay(abi.encodeCall(AgentRouter.fulfill, (_fulfillment(req, output))));
        (, uint256 refund,) = _settlementFromLogs();
        assertGe(refund, 1, "the relayer's gas was covered in full");
    }

    // ---------------------------------------------------------------- helpers

    /// @dev Settles requests until every slot a settlement writes exists (each worker's fees, the
    /// agent owner's earnings, the settled-bits word): later settlements cost their steady state.
    function _warmUp() internal {
        for (uint256 i; i < 12; ++i) {
            _relayedFee(OUTPUT);
        }
        for (uint256 i; i < WORKER_COUNT; ++i) {
            assertGe(router.workerFees(workerAddrs[i]), 1, "every worker paid once");
        }
    }

    function _relayedFee(bytes memory output) internal returns (uint256 fee) {
        IAgentRouter.AgentRequest memory req = _request();
        uint256 before = router.earnings(relayer);
        _relay(abi.encodeCall(AgentRouter.fulfill, (_fulfillment(req, output))));
        fee = router.earnings(relayer) - before;
    }

    function _relay(bytes memory data) internal {
        vm.prank(relayer);
        (bool ok, bytes memory reason) = address(router).call(data);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(reason, 0x20), mload(reason))
            }
        }
    }

    function _expectNonCanonical(bytes memory data) internal {
        vm.prank(relayer);
        (bool ok, bytes memory reason) = address(router).call(data);
        assertFalse(ok, "refused");
        assertEq(reason, abi.encodeWithSelector(IAgentRouter.NonCanonicalCalldata.selector), "NonCanonicalCalldata");
    }

    function _word(bytes memory data, uint256 at) internal pure returns (uint256 value) {
        assembly ("memory-safe") {
            value := mload(add(add(data, 0x20), at))
        }
    }

    function _setWord(bytes memory data, uint256 at, uint256 value) internal pure {
        assembly ("memory-safe") {
            mstore(add(add(data, 0x20), at), value)
        }
    }

    function _slice(bytes memory data, uint256 from, uint256 to) internal pure returns (bytes memory out) {
        out = new bytes(to - from);
        for (uint256 i; i < out.length; ++i) {
            out[i] = data[from + i];
        }
    }
}
