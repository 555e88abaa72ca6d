// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IWorkerStaking} from "../interfaces/IWorkerStaking.sol";
import {IAgentRouter} from "../interfaces/IAgentRouter.sol";

/// @title MockWorkerStaking
/// @notice Test double for the staking side: an explicit worker list sampled uniformly, slash calls
/// recorded (and optionally made to revert). Never deploy outside tests.
contract MockWorkerStaking is IWorkerStaking {
    address[] public workers;
    mapping(address worker => bool) public isEligible;
    mapping(address worker => uint256) public timeoutSlashes;
    mapping(address worker => uint256) public equivocationSlashes;
    bool public revertOnSlash;
    uint256 public slashAmount;

    event TimeoutSlashed(
        address indexed worker, uint256 indexed requestId, uint256 amount, address reporter, uint256 reporterReward
    );
    event EquivocationSlashed(address indexed worker, uint256 indexed requestId, address reporter, uint256 reporterReward);

    error SlashRefused();

    function addWorker(address worker) external {
        workers.push(worker);
        isEligible[worker] = true;
    }

    function clearWorkers() external {
        for (uint256 i; i < workers.length; ++i) {
            isEligible[workers[i]] = false;
        }
        delete workers;
    }

    function setRevertOnSlash(bool value) external {
        revertOnSlash = value;
    }

    function setSlashAmount(uint256 value) external {
        slashAmount = value;
    }

    function collect(IAgentRouter router, address worker) external returns (uint256) {
        (uint256 amount,,) = router.collectWorkerFees(worker);
        return amount;
    }

    /// @notice Workers the router last reported full.
    mapping(address worker => bool) public isFull;

    function setWorkerFull(address worker, bool full) external {
        isFull[worker] = full;
    }

    function sampleWorker(uint256 seed) public view returns (address) {
        uint256 count = workers.length;
        return count == 0 ? address(0) : workers[seed % count];
    }

    /// @dev No history here: the list as it is now.
    function sampleWorkerAt(uint256 seed, uint256) external view returns (address) {
        return sampleWorker(seed);
    }

    function slashForTimeout(address worker, uint256 requestId, uint256 amount, address reporter, uint256 reporterReward)
        external
        returns (uint256)
    {
        if (revertOnSlash) revert SlashRefused();
        timeoutSlashes[worker] += 1;
        emit TimeoutSlashed(worker, requestId, amount, reporter, reporterReward);
        return amount;
    }

    function slashForEquivocation(address worker, uint256 requestId, address reporter, uint256 reporterReward)
        external
        returns (uint256)
    {
        if (revertOnSlash) revert SlashRefused();
        equivocationSlashes[worker] += 1;
        isEligible[worker] = false;
        emit EquivocationSlashed(worker, requestId, reporter, reporterReward);
        return slashAmount;
    }
}
