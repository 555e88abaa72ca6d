// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {RouterFixture} from "./RouterFixture.sol";
import {RecordingConsumer} from "./TestDoubles.sol";
import {PhalaToken} from "../../contracts/token/PhalaToken.sol";
import {AgentRegistry} from "../../contracts/agents/AgentRegistry.sol";
import {WorkerRegistry} from "../../contracts/workers/WorkerRegistry.sol";
import {SimulatedTeeVerifier} from "../../contracts/workers/SimulatedTeeVerifier.sol";
import {AgentRouter} from "../../contracts/core/AgentRouter.sol";
import {AgentRouterState} from "../../contracts/core/AgentRouterState.sol";
import {StakingHub} from "../../contracts/staking/StakingHub.sol";
import {StakingVault} from "../../contracts/staking/StakingVault.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {IAgentRouter} from "../../contracts/interfaces/IAgentRouter.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";

/// @notice The router wired to the real StakingHub (and a StakingVault over it) with the parameters
/// of ignition/modules/AgentNetwork.ts, for attacks whose outcome depends on the staking side:
/// timeouts' slashes and their payouts. Helpers open pools, bind workers, stake and request.
abstract contract RouterHubFixture is RouterFixture {
    address internal constant GOVERNANCE_TREASURY = address(0x7EA5);
    address internal constant VAULT_MANAGER = address(0x3A4);
    /// @dev maxPendingPerWorker (16) miss penalties (2 worker fees, 0.2 PHA) per worker: small enough
    /// that tests see a bond run out. The deployed minBondPerWorker (ignition/modules/AgentNetwork.ts,
    /// 70 PHA) also covers each request's capacity fee, which a timeout slashes too.
    uint128 internal constant MIN_BOND = 3.2 ether;

    StakingHub internal hub;
    StakingVault internal vault;

    function setUp() public virtual override {
        vm.warp(START_TIME);
        token = new PhalaToken(address(this));
        agents = new AgentRegistry();
        workers = new WorkerRegistry(address(this));
        verifier = new SimulatedTeeVerifier(vm.addr(DEV_KEY), VALIDITY);
        router = new AgentRouter(
            IERC20(address(token)), agents, workers, address(this), GOVERNANCE_TREASURY, deployedConfig(), 16_384
        );
        hub = new StakingHub(IERC20(address(token)), workers, GOVERNANCE_TREASURY, deployedStakingParams(), address(this));
        vault = new StakingVault(IERC20(address(token)), IStakingHub(address(hub)), VAULT_MANAGER, address(this));
        router.setStaking(hub);
        hub.setRouter(address(router));
        workers.setRouter(address(router));
        workers.setVerifierApproved(address(verifier), true);
        workers.setMeasurementApproved(MEASUREMENT, true);
        consumer = new RecordingConsumer(router);
    }

    /// @dev routerConfig of ignition/modules/AgentNetwork.ts.
    function deployedConfig() internal pure returns (AgentRouterState.Config memory) {
        return AgentRouterState.Config({
            workerFee: 0.1 ether,
            phaPerGas: 1 gwei,
            protocolFeeBps: 500,
            timeoutPenaltyBps: 20_000,
            fulfillOverheadGas: 40_000,
            maxCallbackGasLimit: 2_000_000,
            requestTimeout: 120,
            maxPendingPerWorker: 16
        });
    }

    /// @dev stakingParams of ignition/modules/AgentNetwork.ts.
    function deployedStakingParams() internal pure returns (IStakingHub.Params memory) {
        return IStakingHub.Params({
            minStakePerWorker: 1_000 ether,
            unbondingPeriod: 1 days,
            commissionChangeDelay: 1 days,
            equivocationSlashBps: 2_000,
            minCommissionBps: 0,
            maxCommissionBps: 5_000,
            minBondPerWorker: MIN_BOND
        });
    }

    /// @dev A pool run by `op` with one registered worker (key `key`) bound to it, and the operator
    /// bond one worker needs posted by `op`.
    function _poolWithWorker(address op, uint16 commissionBps, uint256 key) internal returns (uint256 poolId, address worker) {
        vm.prank(op);
        poolId = hub.createPool(commissionBps);
        worker = _registerWorker(key, op, MEASUREMENT);
        _postBond(op, poolId, MIN_BOND);
        vm.prank(op);
        hub.addWorker(poolId, worker);
    }

    function _postBond(address payer, uint256 poolId, uint256 amount) internal {
        token.transfer(payer, amount);
        vm.startPrank(payer);
        token.approve(address(hub), amount);
        hub.postBond(poolId, amount);
        vm.stopPrank();
    }

    function _stake(address staker, uint256 poolId, uint256 amount) internal {
        token.transfer(staker, amount);
        vm.startPrank(staker);
        token.approve(address(hub), amount);
        hub.stake(poolId, amount);
        vm.stopPrank();
    }

    /// @dev A request by `requester` from its own account (the requester is its own consumer).
    function _requestAs(address requester, uint64 account, uint256 agent, uint96 maxFee)
        internal
        returns (IAgentRouter.AgentRequest memory)
    {
        vm.recordLogs();
        vm.prank(requester);
        router.request(account, agent, "hello", 0, 0, maxFee);
        return _requestFromLogs();
    }

    /// @dev Active plus unbonding stake of `poolId`: the stakers' part, which slashes reach only
    /// once the operator bond is used up.
    function _poolStake(uint256 poolId) internal view returns (uint256) {
        IStakingHub.Pool memory pool = hub.poolState(poolId);
        return pool.activeStake + pool.unbondingStake;
    }

    /// @dev The operator bond of `poolId`.
    function _bond(uint256 poolId) internal view returns (uint256) {
        return hub.bondOf(poolId);
    }

    /// @dev Everything a slash of `poolId` takes from: its operator bond, then its stake.
    function _atStake(uint256 poolId) internal view returns (uint256) {
        return _bond(poolId) + _poolStake(poolId);
    }
}
