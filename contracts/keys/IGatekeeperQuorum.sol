// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IGatekeeperQuorum
/// @notice The gatekeeper set and its M-of-N signature check. GatekeeperQuorumVerifier holds the set;
/// KeyRegistry reuses it so governance maintains one set for attestations and key rotations.
interface IGatekeeperQuorum {
    /// @notice Reverts unless `signatures` are valid signatures over `digest` by at least `threshold()`
    /// distinct current gatekeepers, sorted by strictly ascending signer address.
    /// @dev `digest` must already carry the caller's EIP-712 domain, so signatures cannot move between
    /// contracts or chains.
    /// @param digest The EIP-712 digest the gatekeepers signed.
    /// @param signatures 65-byte (r, s, v) signatures with low `s`, sorted by signer; any other length
    /// (including 64-byte EIP-2098 compact signatures) is refused.
    function checkQuorum(bytes32 digest, bytes[] calldata signatures) external view;

    /// @notice True when `account` is a current gatekeeper.
    /// @param account The address to check.
    /// @return Whether it is a current gatekeeper.
    function isGatekeeper(address account) external view returns (bool);

    /// @notice Number of distinct gatekeeper signatures required (M).
    /// @return The number of signatures required.
    function threshold() external view returns (uint256);
}
