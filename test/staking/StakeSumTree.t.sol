// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {StakeSumTree} from "../../contracts/staking/StakeSumTree.sol";

contract SumTreeHarness {
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

    function total() external view returns (uint256) {
        return _tree.total();
    }

    function depth() external view returns (uint256) {
        return _tree.depth();
    }

    function find(uint256 target) external view returns (uint256 leaf) {
        (leaf,) = _tree.sample(target);
    }

    function sample(uint256 seed) external view returns (uint256 leaf, uint256 weightSum) {
        return _tree.sample(seed);
    }

    function leafCount() external view returns (uint256) {
        return weights.length;
    }
}

contract StakeSumTreeTest is Test {
    SumTreeHarness internal tree;

    function setUp() public {
        tree = new SumTreeHarness();
    }

    function test_DepthGrowsByPowersOfTen() public {
        assertEq(tree.depth(), 1, "empty");
        for (uint256 i; i < 10; ++i) tree.addLeaf();
        assertEq(tree.depth(), 1, "10 leaves");
        tree.addLeaf();
        assertEq(tree.depth(), 2, "11 leaves");
        for (uint256 i = 11; i < 101; ++i) tree.addLeaf();
        assertEq(tree.depth(), 3, "101 leaves");
    }

    function test_SampleEmptyTree() public {
        tree.addLeaf();
        (, uint256 weightSum) = tree.sample(123);
        assertEq(weightSum, 0, "empty");
    }

    function test_GrowthKeepsWeights() public {
        for (uint256 i; i < 5; ++i) {
            tree.addLeaf();
            tree.set(i, i + 1);
        }
        for (uint256 i = 5; i < 130; ++i) tree.addLeaf();
        assertEq(tree.total(), 15, "total kept");
        assertEq(tree.find(0), 0, "leaf 0");
        assertEq(tree.find(14), 4, "leaf 4");
        tree.set(129, 10);
        assertEq(tree.find(15), 129, "new leaf");
    }

    function test_RevertsOnTotalOverflow() public {
        tree.addLeaf();
        tree.addLeaf();
        tree.set(0, StakeSumTree.MAX_TOTAL);
        vm.expectRevert(StakeSumTree.WeightOverflow.selector);
        tree.set(1, 1);
    }

    /// Every target maps to the leaf a linear prefix scan finds, at any size and weight mix.
    function testFuzz_FindMatchesLinearScan(uint256 leaves, uint256 weightSeed, uint256 target) public {
        leaves = bound(leaves, 1, 130);
        for (uint256 i; i < leaves; ++i) {
            tree.addLeaf();
            uint256 w = uint256(keccak256(abi.encode(weightSeed, i))) % 4;
            // A quarter of the leaves stay at zero: they must never be found.
            if (w != 0) tree.set(i, uint256(keccak256(abi.encode(weightSeed, i, "w"))) % 100_000);
        }
        // Churn: lower a few weights again.
        for (uint256 i; i < leaves; i += 7) tree.set(i, tree.weights(i) / 2);
        uint256 sum;
        for (uint256 i; i < leaves; ++i) sum += tree.weights(i);
        assertEq(tree.total(), sum, "total");
        vm.assume(sum > 0);
        target = bound(target, 0, sum - 1);
        uint256 expected;
        uint256 acc;
        for (uint256 i; i < leaves; ++i) {
            acc += tree.weights(i);
            if (target < acc) {
                expected = i;
                break;
            }
        }
        assertEq(tree.find(target), expected, "leaf");
    }
}
