// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {PhalaToken} from "../../contracts/token/PhalaToken.sol";
import {StakingHub} from "../../contracts/staking/StakingHub.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {IWorkerRegistry} from "../../contracts/interfaces/IWorkerRegistry.sol";
import {MockRouter} from "./mocks/MockRouter.sol";
import {MockWorkerRegistry} from "./mocks/MockWorkerRegistry.sol";

/// @notice Shared deployment for staking tests: PHA held by the test, a mock registry and router,
/// and a hub with the default parameters below.
abstract contract StakingFixture is Test {
    uint128 internal constant MIN_STAKE = 1_000 ether;
    uint64 internal constant UNBONDING = 7 days;
    uint64 internal constant COMMISSION_DELAY = 2 days;
    uint16 internal constant EQUIVOCATION_BPS = 2_000;
    uint16 internal constant MAX_COMMISSION = 5_000;

    address internal constant GOVERNANCE = address(0x600);
    address internal constant TREASURY = address(0x7EA5);
    address internal constant OPERATOR = address(0x0F);
    address internal constant ALICE = address(0xA11CE);
    address internal constant BOB = address(0xB0B);

    PhalaToken internal pha;
    MockWorkerRegistry internal registry;
    MockRouter internal router;
    StakingHub internal hub;

    function setUp() public virtual {
        pha = new PhalaToken(address(this));
        registry = new MockWorkerRegistry();
        router = new MockRouter(pha);
        hub = new StakingHub(pha, IWorkerRegistry(address(registry)), TREASURY, defaultParams(), GOVERNANCE);
        router.setStaking(address(hub));
        vm.prank(GOVERNANCE);
        hub.setRouter(address(router));
        pha.approve(address(router), type(uint256).max);
    }

    function defaultParams() internal pure returns (IStakingHub.Params memory) {
        return IStakingHub.Params({
            minStakePerWorker: MIN_STAKE,
            unbondingPeriod: UNBONDING,
            commissionChangeDelay: COMMISSION_DELAY,
            equivocationSlashBps: EQUIVOCATION_BPS,
            minCommissionBps: 0,
            maxCommissionBps: MAX_COMMISSION,
            minBondPerWorker: 0
        });
    }

    function fund(address account, uint256 amount) internal {
        pha.transfer(account, amount);
        vm.prank(account);
        pha.approve(address(hub), type(uint256).max);
    }

    function createPool(address operator, uint16 commissionBps) internal returns (uint256 poolId) {
        vm.prank(operator);
        poolId = hub.createPool(commissionBps);
    }

    function addWorker(uint256 poolId, address operator, address worker) internal {
        registry.setOperator(worker, operator);
        vm.prank(operator);
        hub.addWorker(poolId, worker);
    }

    function stakeAs(address account, uint256 poolId, uint256 amount) internal returns (uint256 shares) {
        fund(account, amount);
        vm.prank(account);
        shares = hub.stake(poolId, amount);
    }

    function creditFees(address worker, uint256 amount) internal {
        router.creditFees(worker, amount);
    }
}
