// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IWorkerStaking} from "../../../contracts/interfaces/IWorkerStaking.sol";
import {WorkerFeeBook} from "../../../contracts/core/lib/WorkerFeeBook.sol";

/// @notice Stand-in for the AgentRouter's staking seam: holds credited worker fees, hands them to the
/// staking contract through collectWorkerFees, and forwards slashes as the router would. Books fees
/// by mining epoch exactly as the router does ({WorkerFeeBook}).
contract MockRouter {
    IERC20 public immutable pha;
    address public staking;
    mapping(address worker => uint256) private _books;
    /// @notice The protocol fee the mining reserve reads through {feeConfig}.
    uint16 public protocolFeeBps = 500;

    error NotStaking(address caller);

    constructor(IERC20 pha_) {
        pha = pha_;
    }

    function setStaking(address staking_) external {
        staking = staking_;
    }

    function setProtocolFeeBps(uint16 bps) external {
        protocolFeeBps = bps;
    }

    /// @notice The router's config as far as mining reads it (workerFee, phaPerGas, protocolFeeBps).
    function feeConfig() external view returns (uint256, uint256, uint256) {
        return (0, 0, protocolFeeBps);
    }

    /// @notice Pulls `amount` PHA from the caller as fees earned by `worker`.
    function creditFees(address worker, uint256 amount) external {
        pha.transferFrom(msg.sender, address(this), amount);
        if (amount != 0) _books[worker] = WorkerFeeBook.credit(_books[worker], amount);
    }

    function workerFees(address worker) external view returns (uint256) {
        return WorkerFeeBook.owed(_books[worker]);
    }

    function collectWorkerFees(address worker) external returns (uint256 amount, uint256 current, uint256 previous) {
        if (msg.sender != staking) revert NotStaking(msg.sender);
        uint256 kept;
        (kept, amount, current, previous) = WorkerFeeBook.collect(_books[worker]);
        _books[worker] = kept;
        if (amount != 0) pha.transfer(msg.sender, amount);
    }

    function slashForTimeout(address worker, uint256 requestId, uint256 amount, address reporter, uint256 reporterReward)
        external
        returns (uint256)
    {
        return IWorkerStaking(staking).slashForTimeout(worker, requestId, amount, reporter, reporterReward);
    }

    function slashForEquivocation(address worker, uint256 requestId, address reporter, uint256 reporterReward)
        external
        returns (uint256)
    {
        return IWorkerStaking(staking).slashForEquivocation(worker, requestId, reporter, reporterReward);
    }
}
