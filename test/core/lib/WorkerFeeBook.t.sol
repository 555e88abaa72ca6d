// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../../utils/Test.sol";
import {WorkerFeeBook} from "../../../contracts/core/lib/WorkerFeeBook.sol";

/// @notice A worker's fees booked by mining epoch: what a collection reports as this epoch's and the
/// previous one's work is exactly what was earned in them, whatever the order of fees and collections.
contract WorkerFeeBookTest is Test {
    uint256 internal constant DAY = 1 days;
    /// @dev A pending count and the capacity bit, which the fee book must never touch.
    uint256 internal constant PENDING = (uint256(7) << 224) | (1 << 255);

    uint256 internal book = PENDING;

    function setUp() public {
        vm.warp(20_000 * DAY + 5 hours);
    }

    function _collect() internal returns (uint256 amount, uint256 current, uint256 previous) {
        uint256 kept;
        (kept, amount, current, previous) = WorkerFeeBook.collect(book);
        book = kept;
        assertEq(WorkerFeeBook.owed(book), 0, "emptied");
        assertEq(book >> 224, PENDING >> 224, "pending count and capacity bit kept");
    }

    function test_SameEpoch_AllCurrent() public {
        book = WorkerFeeBook.credit(book, 3 ether);
        book = WorkerFeeBook.credit(book, 2 ether);
        assertEq(WorkerFeeBook.owed(book), 5 ether, "owed");
        (uint256 amount, uint256 current, uint256 previous) = _collect();
        assertEq(amount, 5 ether, "amount");
        assertEq(current, 5 ether, "current");
        assertEq(previous, 0, "previous");
    }

    function test_CollectedNextEpoch_IsPrevious() public {
        book = WorkerFeeBook.credit(book, 3 ether);
        vm.warp(block.timestamp + DAY);
        (uint256 amount, uint256 current, uint256 previous) = _collect();
        assertEq(amount, 3 ether, "amount");
        assertEq(current, 0, "current");
        assertEq(previous, 3 ether, "yesterday's work");
    }

    function test_RolledByANewEpochsFee_SplitExactly() public {
        book = WorkerFeeBook.credit(book, 3 ether);
        vm.warp(block.timestamp + DAY);
        book = WorkerFeeBook.credit(book, 2 ether);
        (uint256 amount, uint256 current, uint256 previous) = _collect();
        assertEq(amount, 5 ether, "amount");
        assertEq(current, 2 ether, "today's");
        assertEq(previous, 3 ether, "yesterday's");
    }

    function test_CollectedTwoEpochsLater_IsLate() public {
        book = WorkerFeeBook.credit(book, 3 ether);
        vm.warp(block.timestamp + 2 * DAY);
        (uint256 amount, uint256 current, uint256 previous) = _collect();
        assertEq(amount, 3 ether, "all fees paid");
        assertEq(current + previous, 0, "no work reported for a past epoch's fees");
    }

    /// Fees of days 1, 2 and 3 uncollected: day 1's are late at day 3 and stay mixed with day 2's,
    /// which are reported as late too (never as day 2's with day 1's added).
    function test_OlderFeesLeftUncollected_MarkThePreviousPartLate() public {
        book = WorkerFeeBook.credit(book, 1 ether);
        vm.warp(block.timestamp + DAY);
        book = WorkerFeeBook.credit(book, 2 ether);
        vm.warp(block.timestamp + DAY);
        book = WorkerFeeBook.credit(book, 4 ether);
        (uint256 amount, uint256 current, uint256 previous) = _collect();
        assertEq(amount, 7 ether, "all fees paid");
        assertEq(current, 4 ether, "today's");
        assertEq(previous, 0, "the older part is not attributed");
    }

    /// A gap: fees of day 1, next fees on day 3. Day 1's are never reported as day 2's.
    function test_GapBetweenFees_PreviousPartLate() public {
        book = WorkerFeeBook.credit(book, 1 ether);
        vm.warp(block.timestamp + 2 * DAY);
        book = WorkerFeeBook.credit(book, 4 ether);
        (, uint256 current, uint256 previous) = _collect();
        assertEq(current, 4 ether, "today's");
        assertEq(previous, 0, "day 1's fees are not day 2's");
    }

    /// Collected once per epoch, every fee is reported in its own epoch.
    function test_CollectedEveryEpoch_EveryFeeAttributed() public {
        uint256 attributed;
        for (uint256 d; d < 5; ++d) {
            book = WorkerFeeBook.credit(book, 1 ether);
            (, uint256 current, uint256 previous) = _collect();
            attributed += current + previous;
            book = WorkerFeeBook.credit(book, 2 ether); // after the collection, same epoch
            vm.warp(block.timestamp + DAY);
        }
        (, uint256 current2, uint256 previous2) = _collect();
        attributed += current2 + previous2;
        assertEq(attributed, 15 ether, "all of it, each in its epoch");
    }

    /// Random fees, collections and days: amounts always add up, and what a collection attributes to
    /// today and yesterday never exceeds the fees earned on those days since the last collection.
    function testFuzz_AttributionNeverExceedsTheEpochsFees(uint256 seed) public {
        uint256 owedGhost;
        uint256[64] memory earned; // per day offset, since the last collection
        uint256 start = block.timestamp / DAY;
        for (uint256 step; step < 40; ++step) {
            seed = uint256(keccak256(abi.encode(seed)));
            uint256 action = seed % 4;
            uint256 today = block.timestamp / DAY - start;
            if (action == 0 && today < 60) {
                vm.warp(block.timestamp + (seed >> 8) % (2 * DAY));
            } else if (action == 3) {
                (uint256 amount, uint256 current, uint256 previous) = _collect();
                assertEq(amount, owedGhost, "amount owed");
                assertLe(current, earned[today], "current within today's fees");
                if (today != 0) assertLe(previous, earned[today - 1], "previous within yesterday's fees");
                owedGhost = 0;
                for (uint256 d; d < 64; ++d) {
                    earned[d] = 0;
                }
            } else {
                uint256 fee = 1 + (seed >> 16) % 1_000_000 ether;
                book = WorkerFeeBook.credit(book, fee);
                owedGhost += fee;
                earned[today] += fee;
            }
            assertEq(WorkerFeeBook.owed(book), owedGhost, "owed");
            assertEq(book >> 224, PENDING >> 224, "pending bits untouched");
        }
    }
}
