// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title WorkerFeeBook
/// @notice The fee part (low 224 bits) of a worker's book in the router, kept by mining epoch so the
/// staking side can tell the mining reserve in which epoch the work it collects was done:
///
///     bits   0..95   current:  fees of the epoch `day`
///     bits  96..191  previous: fees before `day`, not collected yet
///     bits 192..221  day:      the epoch (day number, block.timestamp / EPOCH) of the last fee
///     bit  222       STALE:    `previous` holds fees older than `day - 1`
///     bit  223       USED:     the book was credited once (keeps the slot non-zero after a collection,
///                              so the next credit rewrites it: 2,900 gas, not 20,000)
///
/// All the PHA there is (1e27) is below 2^90, so neither part overflows its 96 bits. The bits above
/// 224 (the router's pending count) are never touched here.
library WorkerFeeBook {
    /// @notice Length of a mining epoch: epoch n is the UTC day n (block.timestamp / EPOCH). The mining
    /// reserve numbers its epochs from a genesis aligned to one.
    uint256 internal constant EPOCH = 1 days;

    uint256 private constant PART_MASK = (1 << 96) - 1;
    uint256 private constant DAY_SHIFT = 192;
    uint256 private constant DAY_MASK = (1 << 30) - 1;
    uint256 private constant STALE = 1 << 222;
    uint256 private constant USED = 1 << 223;
    /// @dev Everything below the pending count that a collection resets: both parts and STALE.
    uint256 private constant COLLECTED = ((1 << 192) - 1) | STALE;
    uint256 private constant PENDING_BITS = ~uint256((1 << 224) - 1);

    /// @notice The epoch now.
    /// @return The day number.
    function today() internal view returns (uint256) {
        return block.timestamp / EPOCH;
    }

    /// @notice `book` with `fee` more earned now. On the first fee of a new epoch the current part
    /// moves to `previous`; `previous` is exactly the day before only if that is the day it held and
    /// nothing older was left uncollected, else it is marked STALE (late for mining).
    /// @param book The worker's book.
    /// @param fee PHA earned (non-zero).
    /// @return The new book.
    function credit(uint256 book, uint256 fee) internal view returns (uint256) {
        uint256 day = today();
        uint256 bookDay = (book >> DAY_SHIFT) & DAY_MASK;
        if (bookDay != day) {
            uint256 previous = (book >> 96) & PART_MASK;
            bool stale = bookDay + 1 != day || previous != 0;
            previous += book & PART_MASK;
            book = (book & PENDING_BITS) | (day << DAY_SHIFT) | (previous << 96);
            if (stale && previous != 0) book |= STALE;
        }
        // Cannot carry out of the current part: see above.
        return (book | USED) + fee;
    }

    /// @notice PHA owed in `book`.
    /// @param book The worker's book.
    /// @return Both parts.
    function owed(uint256 book) internal pure returns (uint256) {
        return (book & PART_MASK) + ((book >> 96) & PART_MASK);
    }

    /// @notice Empties `book`'s fees and splits them by the epoch of their work, seen from now.
    /// @param book The worker's book.
    /// @return kept The book to store (pending count, day and USED kept).
    /// @return amount PHA owed (all of it).
    /// @return current Of which earned in the epoch now.
    /// @return previous Of which earned in the epoch before; the rest is older (late for mining).
    function collect(uint256 book)
        internal
        view
        returns (uint256 kept, uint256 amount, uint256 current, uint256 previous)
    {
        uint256 cur = book & PART_MASK;
        uint256 prev = (book >> 96) & PART_MASK;
        amount = cur + prev;
        uint256 day = today();
        uint256 bookDay = (book >> DAY_SHIFT) & DAY_MASK;
        if (bookDay == day) {
            current = cur;
            if (book & STALE == 0) previous = prev;
        } else if (bookDay + 1 == day) {
            previous = cur;
        }
        kept = book & ~COLLECTED;
    }
}
