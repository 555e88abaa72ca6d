// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IWorkerStaking} from "../../../contracts/interfaces/IWorkerStaking.sol";

/// @notice Measures what one sampleWorker call costs a caller (cold storage, cold account), as the
/// router pays it on every request.
contract SampleGasProbe {
    function measure(IWorkerStaking staking, uint256 seed) external view returns (uint256 gasUsed, address worker) {
        uint256 before = gasleft();
        worker = staking.sampleWorker(seed);
        gasUsed = before - gasleft();
    }
}
