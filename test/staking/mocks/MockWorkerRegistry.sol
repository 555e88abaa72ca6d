// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";

/// @notice Worker registry stand-in: tests set each worker's operator, attestation expiry and bans
/// directly. A worker whose expiry was never set never expires.
contract MockWorkerRegistry is IWorkerRegistry {
    mapping(address worker => address) public operatorOf;
    mapping(address worker => bool) public jailed;
    mapping(address worker => bool) public revoked;
    mapping(address worker => uint64) internal _expiresAt;

    function setOperator(address worker, address operator) external {
        operatorOf[worker] = operator;
    }

    function setExpiry(address worker, uint64 expiresAt) external {
        _expiresAt[worker] = expiresAt;
    }

    function revoke(address worker) external {
        revoked[worker] = true;
    }

    function workerOf(address worker) external view returns (Worker memory w) {
        w.operator = operatorOf[worker];
        w.jailed = jailed[worker];
        w.revoked = revoked[worker];
        w.expiresAt = expiryOf(worker);
    }

    function expiryOf(address worker) public view returns (uint64) {
        uint64 expiresAt = _expiresAt[worker];
        return expiresAt == 0 ? type(uint64).max : expiresAt;
    }

    function isActive(address worker) public view returns (bool) {
        return operatorOf[worker] != address(0) && !jailed[worker] && !revoked[worker]
            && expiryOf(worker) >= block.timestamp;
    }

    function activeMeasurementOf(address worker) external view returns (bytes32) {
        return isActive(worker) ? bytes32(uint256(1)) : bytes32(0);
    }

    function isBanned(address worker) external view returns (bool) {
        return jailed[worker] || revoked[worker];
    }

    function jail(address worker) external {
        jailed[worker] = true;
    }
}
