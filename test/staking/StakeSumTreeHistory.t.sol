// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {StakeSumTree} from "../../contracts/staking/StakeSumTree.sol";

contract HistoryHarness {
    using StakeSumTree for StakeSumTree.Tree;

    StakeSumTree.Tree private _tree;
    uint256[] public weights;

    function addLeaf() external {
        _tree.reserve(weights.length);
        weights.push(0);
    }

    function set(uint256 leaf, uint256 weight) external {
        _tree.update(leaf, weights[leaf], weight);
        weights[leaf] = weight;
    }

    function leafCount() external view returns (uint256) {
        return weights.length;
    }

    function depth() external view returns (uint256) {
        return _tree.depth();
    }

    function periodOf(uint256 timestamp) external view returns (uint256 period, bool readable) {
        return StakeSumTree.periodOf(timestamp);
    }

    function totalAt(uint256 period) external view returns (uint256) {
        return _tree.totalAt(period);
    }

    function findAt(uint256 target, uint256 period) external view returns (uint256 leaf, uint256 offset, uint256 weight) {
        return _tree.find(target, period);
    }
}

/// @notice The sum tree's history: at any time, the tree read "as of the start of" the current or
/// the previous period (1 day) is exactly the tree as it stood then, whatever updates, new leaves and
/// new levels came after. Checked against a reference model that copies all weights at each period
/// start.
contract StakeSumTreeHistoryTest is Test {
    uint256 internal constant PERIOD = 1 days;
    uint256 internal constant START = 1_700_000_000;

    HistoryHarness internal tree;
    /// @dev The reference model: every leaf's weight at the start of the current and previous period.
    uint256[] internal startNow;
    uint256[] internal startBefore;
    uint256 internal modelPeriod;

    function setUp() public {
        vm.warp(START);
        tree = new HistoryHarness();
        modelPeriod = START / PERIOD;
    }

    // ---------------------------------------------------------------- unit

    function test_UpdatesAfterThePeriodStartDoNotMoveTheReadAsOfIt() public {
        _addLeaves(3);
        tree.set(0, 50);
        tree.set(1, 30);
        _warpToNextPeriod();
        uint256 period = block.timestamp / PERIOD;
        tree.set(2, 1_000); // a newcomer after the period start
        tree.set(0, 1); // an old leaf drained
        tree.set(1, 300); // and one pumped
        assertEq(tree.totalAt(period), 80, "total as of the start");
        assertEq(tree.totalAt(StakeSumTree.CURRENT), 1_301, "current total");
        _assertLeaf(period, 0, 0, 50);
        _assertLeaf(period, 1, 50, 30);
        (uint256 leaf,,) = tree.findAt(79, period);
        assertEq(leaf, 1, "leaf 2 weighs nothing as of the start");
        // Still readable during the next period, gone the one after.
        vm.warp(block.timestamp + PERIOD);
        tree.set(1, 7);
        assertEq(tree.totalAt(period), 80, "previous period's start");
        assertEq(tree.totalAt(period + 1), 1_301, "this period's start");
        (, bool readable) = tree.periodOf(period * PERIOD);
        assertTrue(readable, "the previous period is readable");
        vm.warp(block.timestamp + PERIOD);
        (, readable) = tree.periodOf(period * PERIOD);
        assertFalse(readable, "two periods back is not");
        (, readable) = tree.periodOf(block.timestamp + PERIOD);
        assertFalse(readable, "nor a future one");
    }

    function test_ALevelAddedWithinAPeriodKeepsTheReadAsOfItsStart() public {
        _addLeaves(10);
        for (uint256 i; i < 10; ++i) tree.set(i, i + 1);
        _warpToNextPeriod();
        uint256 period = block.timestamp / PERIOD;
        tree.set(3, 400); // the root and leaf node change before the growth
        _addLeaves(91); // 101 leaves: two new levels within the period
        assertEq(tree.depth(), 3, "grew two levels");
        tree.set(100, 5_000);
        tree.set(5, 0);
        assertEq(tree.totalAt(period), 55, "sum of 1..10 as of the start");
        uint256 start;
        for (uint256 i; i < 10; ++i) {
            _assertLeaf(period, i, start, i + 1);
            start += i + 1;
        }
        // And in the next period, reading the previous one across the growth.
        vm.warp(block.timestamp + PERIOD);
        tree.set(100, 1);
        assertEq(tree.totalAt(period), 55, "previous period's start, after the growth");
        _assertLeaf(period, 9, 45, 10);
        assertEq(tree.totalAt(period + 1), 55 - 4 + 400 - 6 + 5_000, "this period's start");
    }

    function test_AGrowthWithoutEarlierUpdateInThePeriod() public {
        _addLeaves(4);
        tree.set(2, 9);
        _warpToNextPeriod();
        uint256 period = block.timestamp / PERIOD;
        _addLeaves(8); // grows before any update this period
        tree.set(11, 70);
        tree.set(2, 1);
        assertEq(tree.totalAt(period), 9, "as of the start");
        _assertLeaf(period, 2, 0, 9);
        vm.warp(block.timestamp + PERIOD);
        assertEq(tree.totalAt(period), 9, "from the next period");
        assertEq(tree.totalAt(period + 1), 71, "the next period's start");
        _assertLeaf(period + 1, 11, 1, 70);
    }

    // ---------------------------------------------------------------- fuzz against the model

    /// @dev Random updates, new leaves (up to 30: one growth) and time steps of up to 1.5 periods;
    /// after every step both readable periods match the model exactly.
    function testFuzz_ReadAsOfAPeriodStartMatchesTheModel(uint256 seed) public {
        _addLeaves(2);
        for (uint256 step; step < 24; ++step) {
            seed = uint256(keccak256(abi.encode(seed, step)));
            uint256 op = seed % 8;
            uint256 n = tree.leafCount();
            if (op < 4) {
                tree.set((seed >> 8) % n, (seed >> 64) % 100_000);
            } else if (op < 6) {
                if (n < 30) _addLeaf();
            } else {
                _warp((seed >> 8) % (PERIOD * 3 / 2));
            }
            _checkAgainstModel();
        }
    }

    // ---------------------------------------------------------------- helpers

    function _checkAgainstModel() internal view {
        uint256 period = block.timestamp / PERIOD;
        assertEq(period, modelPeriod, "model in step");
        _checkPeriod(period, startNow);
        _checkPeriod(period - 1, startBefore);
        uint256[] memory current = _weights();
        _checkPeriod(StakeSumTree.CURRENT, current);
    }

    /// @dev The tree as of `period`'s start has exactly the weights `expected` (absent leaves weigh 0).
    function _checkPeriod(uint256 period, uint256[] memory expected) internal view {
        uint256 sum;
        for (uint256 i; i < expected.length; ++i) {
            if (expected[i] == 0) continue;
            _assertLeaf(period, i, sum, expected[i]);
            sum += expected[i];
        }
        assertEq(tree.totalAt(period), sum, "total");
    }

    function _assertLeaf(uint256 period, uint256 leaf, uint256 start, uint256 weight) internal view {
        (uint256 found, uint256 offset, uint256 w) = tree.findAt(start, period);
        assertEq(found, leaf, "range start: leaf");
        assertEq(offset, 0, "range start: offset");
        assertEq(w, weight, "range start: weight");
        (found, offset, w) = tree.findAt(start + weight - 1, period);
        assertEq(found, leaf, "range end: leaf");
        assertEq(offset, weight - 1, "range end: offset");
        assertEq(w, weight, "range end: weight");
    }

    function _weights() internal view returns (uint256[] memory w) {
        w = new uint256[](tree.leafCount());
        for (uint256 i; i < w.length; ++i) w[i] = tree.weights(i);
    }

    function _addLeaves(uint256 count) internal {
        for (uint256 i; i < count; ++i) _addLeaf();
    }

    function _addLeaf() internal {
        tree.addLeaf();
    }

    function _warpToNextPeriod() internal {
        _warp((block.timestamp / PERIOD + 1) * PERIOD - block.timestamp);
    }

    /// @dev Moves time on and the model with it: the weights at a new period's start are the
    /// current ones (nothing changes between the last update and the boundary).
    function _warp(uint256 by) internal {
        vm.warp(block.timestamp + by);
        uint256 period = block.timestamp / PERIOD;
        if (period == modelPeriod) return;
        uint256[] memory current = _weights();
        startBefore = period == modelPeriod + 1 ? startNow : current;
        startNow = current;
        modelPeriod = period;
    }
}
