// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {CalldataCost} from "../../contracts/core/CalldataCost.sol";

contract CalldataCostHarness {
    /// @dev The cost of `data`'s bytes from `from` on, counted by the library.
    function cost(bytes calldata data, uint256 from) external pure returns (uint256) {
        uint256 start;
        assembly ("memory-safe") {
            start := add(data.offset, from)
        }
        return CalldataCost.gasOf(start, data.length - from);
    }
}

/// @notice CalldataCost against the rule it implements, byte by byte.
contract CalldataCostTest is Test {
    CalldataCostHarness internal harness = new CalldataCostHarness();

    function testFuzz_MatchesByteByByteCount(bytes memory data, uint256 from) public view {
        from = bound(from, 0, data.length);
        assertEq(harness.cost(data, from), _naive(data, from), "4 per zero byte, 16 per other");
    }

    function test_LongRunsOfEveryKind() public view {
        // Past one counting round (255 words) with every byte non-zero, the worst case for the lanes.
        bytes memory full = new bytes(255 * 32 * 2 + 45);
        for (uint256 i; i < full.length; ++i) {
            full[i] = bytes1(uint8(i % 255) + 1);
        }
        assertEq(harness.cost(full, 0), full.length * 16, "all non-zero");
        assertEq(harness.cost(full, 7), (full.length - 7) * 16, "unaligned start");
        bytes memory zeros = new bytes(10_000);
        assertEq(harness.cost(zeros, 0), 40_000, "all zero");
        bytes memory high = new bytes(64);
        for (uint256 i; i < high.length; ++i) {
            high[i] = i % 2 == 0 ? bytes1(0x80) : bytes1(0x01);
        }
        assertEq(harness.cost(high, 0), 64 * 16, "bytes with only bit 7 or only bit 0 set");
    }

    function _naive(bytes memory data, uint256 from) internal pure returns (uint256 gas) {
        for (uint256 i = from; i < data.length; ++i) {
            gas += data[i] == 0 ? 4 : 16;
        }
    }
}
