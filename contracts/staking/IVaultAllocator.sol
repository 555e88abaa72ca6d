// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {ICommonErrors} from "../interfaces/ICommonErrors.sol";

/// @title IVaultAllocator
/// @notice Events and errors of the VaultAllocator, except the events that carry its parameter
/// structs (BoundsSet, ParamsSet), declared with those structs in the contract.
interface IVaultAllocator is ICommonErrors {
    event CandidatesSet(uint256[] poolIds);
    event CuratorSet(address curator);
    event Rebalanced(uint256 indexed epoch, uint256 total, uint256 allocated, uint256 unbonded);
    event ReducedToLimit(uint256 indexed poolId, uint256 held, uint256 limit);

    error NotCurator(address caller);
    error InvalidBounds();
    error ParamsOutOfBounds();
    error TooManyCandidates(uint256 count);
    error DuplicateCandidate(uint256 poolId);
    error UnknownPool(uint256 poolId);
    error AlreadyRebalanced(uint256 epoch);
    error WithinLimit(uint256 poolId, uint256 held, uint256 limit);
}
