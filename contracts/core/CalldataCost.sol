// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title CalldataCost
/// @notice What a range of the transaction's calldata cost it, as the EVM charges it (EIP-2028):
/// 4 gas per zero byte, 16 per other byte. The router bills relayers exactly this, not a flat 16 per
/// byte, so neither zero padding nor a long run of zeros in an answer is billed above its cost.
library CalldataCost {
    /// @dev 0x7f in every byte.
    uint256 private constant LOW7 = 0x7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f7f;
    /// @dev 0x00ff in every 16-bit lane.
    uint256 private constant BYTE_OF_PAIR = 0x00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff00ff;
    /// @dev 0x0001 in every 16-bit lane: multiplying by it sums the lanes into the top one.
    uint256 private constant PAIR_ONES = 0x0001000100010001000100010001000100010001000100010001000100010001;
    /// @dev Words per counting round: a byte lane gains at most 1 per word and must stay below 256.
    uint256 private constant ROUND_BYTES = 255 * 32;

    /// @notice Gas the transaction paid for calldata bytes [start, start + length).
    /// @dev A byte's non-zero-ness ends up in its bit 7: its low 7 bits plus 0x7f carry into bit 7
    /// (never past it) unless they are all zero, and its own bit 7 is or-ed in. Shifted down, the flags
    /// of many words add up in byte lanes without carries; each round then pairs the lanes into 16-bit
    /// sums and adds those in the top 16 bits of one product. About 50 gas per 32 bytes.
    function gasOf(uint256 start, uint256 length) internal pure returns (uint256) {
        uint256 nonZero;
        assembly ("memory-safe") {
            let wholeEnd := add(start, and(length, not(31)))
            let p := start
            for {} lt(p, wholeEnd) {} {
                let roundEnd := add(p, ROUND_BYTES)
                if gt(roundEnd, wholeEnd) { roundEnd := wholeEnd }
                let lanes := 0
                // Four words per iteration while four remain, then one at a time.
                for {} lt(add(p, 0x60), roundEnd) { p := add(p, 0x80) } {
                    let w := calldataload(p)
                    lanes := add(lanes, shr(7, and(or(add(and(w, LOW7), LOW7), w), not(LOW7))))
                    w := calldataload(add(p, 0x20))
                    lanes := add(lanes, shr(7, and(or(add(and(w, LOW7), LOW7), w), not(LOW7))))
                    w := calldataload(add(p, 0x40))
                    lanes := add(lanes, shr(7, and(or(add(and(w, LOW7), LOW7), w), not(LOW7))))
                    w := calldataload(add(p, 0x60))
                    lanes := add(lanes, shr(7, and(or(add(and(w, LOW7), LOW7), w), not(LOW7))))
                }
                for {} lt(p, roundEnd) { p := add(p, 0x20) } {
                    let w := calldataload(p)
                    lanes := add(lanes, shr(7, and(or(add(and(w, LOW7), LOW7), w), not(LOW7))))
                }
                // 16 pair sums of at most 510, added into the top 16 bits (at most 8,160: no carry).
                lanes := add(and(lanes, BYTE_OF_PAIR), and(shr(8, lanes), BYTE_OF_PAIR))
                nonZero := add(nonZero, shr(240, mul(lanes, PAIR_ONES)))
            }
            // A partial last word: only its first `tail` bytes are in the range.
            let tail := and(length, 31)
            if tail {
                let w := and(calldataload(p), not(shr(shl(3, tail), not(0))))
                let flags := shr(7, and(or(add(and(w, LOW7), LOW7), w), not(LOW7)))
                flags := add(and(flags, BYTE_OF_PAIR), and(shr(8, flags), BYTE_OF_PAIR))
                nonZero := add(nonZero, shr(240, mul(flags, PAIR_ONES)))
            }
        }
        return length * 4 + nonZero * 12;
    }
}
