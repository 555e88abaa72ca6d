// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IWorkerRegistry} from "../../../contracts/interfaces/IWorkerRegistry.sol";

/// @notice Worker registry stand-in: tests set each worker's operator directly.
contract MockWorkerRegistry is IWorkerRegistry {
    mapping(address worker => address) public operatorOf;
    mapping(address worker => bool) public jailed;

    function setOperator(address worker, address operator) external {
        operatorOf[worker] = operator;
    }

    function workerOf(address worker) external view returns (Worker memory w) {
        w.operator = operatorOf[worker];
        w.jailed = jailed[worker];
    }

    function isActive(address worker) external view returns (bool) {
        return operatorOf[worker] != address(0) && !jailed[worker];
    }

    function activeMeasurementOf(address worker) external view returns (bytes32) {
        return operatorOf[worker] != address(0) && !jailed[worker] ? bytes32(uint256(1)) : bytes32(0);
    }

    function isBanned(address worker) external view returns (bool) {
        return jailed[worker];
    }

    function jail(address worker) external {
        jailed[worker] = true;
    }
}
