// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {Test} from "../utils/Test.sol";
import {PhalaToken} from "../../contracts/token/PhalaToken.sol";
import {StakingHub} from "../../contracts/staking/StakingHub.sol";
import {IStakingHub} from "../../contracts/staking/IStakingHub.sol";
import {MiningRewards} from "../../contracts/staking/MiningRewards.sol";
import {MockRouter} from "./mocks/MockRouter.sol";
import {MockWorkerRegistry} from "./mocks/MockWorkerRegistry.sol";
import {StakingInvariantBase} from "./StakingInvariantBase.sol";

/// @notice Pools earning fees, settling, faulting and time passing over many epochs, with the
/// reserve topped up and the protocol fee and schedule changing on the way.
contract MiningHandler is Test {
    uint256 internal constant POOLS = 4;

    PhalaToken internal immutable pha;
    StakingHub internal immutable hub;
    MockRouter internal immutable router;
    MiningRewards internal immutable mining;

    uint256[] public poolIds;
    address[] public workerOf;
    /// @dev PHA the hub received from the reserve, measured at the hub's balance.
    uint256 public hubReceived;
    uint256 public maxEpoch;
    /// @dev Worker fees earned in each epoch (by the time of the router's credit).
    mapping(uint256 epoch => uint256) public workDoneIn;

    constructor(PhalaToken pha_, StakingHub hub_, MockRouter router_, MockWorkerRegistry registry, MiningRewards mining_) {
        pha = pha_;
        hub = hub_;
        router = router_;
        mining = mining_;
        pha.approve(address(router), type(uint256).max);
        pha.approve(address(hub), type(uint256).max);
        pha.approve(address(mining), type(uint256).max);
        for (uint256 i; i < POOLS; ++i) {
            address operator = address(uint160(0xE000 + i));
            address worker = address(uint160(0xF000 + i));
            vm.prank(operator);
            uint256 id = hub.createPool(uint16(i * 500));
            registry.setOperator(worker, operator);
            vm.prank(operator);
            hub.addWorker(id, worker);
            poolIds.push(id);
            workerOf.push(worker);
        }
    }

    /// @dev Stakes every pool once the handler holds PHA (a no-op afterwards).
    function start() external {
        if (hub.poolState(poolIds[0]).activeStake != 0) return;
        for (uint256 i; i < POOLS; ++i) {
            hub.stake(poolIds[i], 2_000 ether);
        }
    }

    function poolCount() external pure returns (uint256) {
        return POOLS;
    }

    function earn(uint256 poolSeed, uint256 amount) external {
        amount = bound(amount, 1, 50_000 ether);
        router.creditFees(workerOf[poolSeed % POOLS], amount);
        workDoneIn[mining.currentEpoch()] += amount;
    }

    function settle(uint256 poolSeed) external {
        uint256 id = poolIds[poolSeed % POOLS];
        uint256 releasedBefore = mining.released();
        hub.harvestPool(id);
        hubReceived += mining.released() - releasedBefore;
    }

    function fault(uint256 poolSeed) external {
        try router.slashForTimeout(workerOf[poolSeed % POOLS], 1, 1 ether, address(this), 0) {} catch {}
    }

    function wait(uint256 seconds_) external {
        vm.warp(block.timestamp + bound(seconds_, 1, 3 days));
        uint256 epoch = mining.currentEpoch();
        if (epoch > maxEpoch) maxEpoch = epoch;
    }

    function topUp(uint256 amount) external {
        amount = bound(amount, 1, 1_000 ether);
        if (mining.funded() + amount <= mining.reserveCap()) mining.fund(amount);
    }

    function setProtocolFee(uint256 bps) external {
        router.setProtocolFeeBps(uint16(bound(bps, 0, 2_000)));
    }

    function setBudget(uint256 budget) external {
        MiningRewards.Schedule memory s = mining.schedule();
        s.initialEpochBudget = uint128(bound(budget, 0, 100_000 ether));
        vm.prank(mining.owner());
        mining.setSchedule(s);
    }
}

contract MiningRewardsInvariantTest is StakingInvariantBase {
    MiningRewards internal mining;
    MiningHandler internal handler;

    function setUp() public {
        deployHub(7 days, 2 days, address(this));
        mining = new MiningRewards(
            pha,
            address(hub),
            MiningRewards.Schedule({
                initialEpochBudget: 100 ether,
                decayBps: 1_000,
                decayEpochs: 30,
                shareBps: 8_000,
                faultPenalty: 1 days
            }),
            3_000,
            address(this)
        );
        hub.setMiningRewards(address(mining));
        pha.approve(address(mining), type(uint256).max);
        mining.fund(5_000 ether);
        handler = new MiningHandler(pha, hub, router, registry, mining);
        useHandler(address(handler));
        handler.start();
    }

    /// Never over-spent: what the reserve holds plus what it released is what was put in.
    function invariant_ReserveAccounted() public view {
        assertEq(pha.balanceOf(address(mining)) + mining.released(), mining.funded(), "held + released = funded");
    }

    /// Rewards sum to what was released, by pool and by epoch, and the hub received exactly that.
    function invariant_RewardsSumToReleased() public view {
        uint256 byPool;
        for (uint256 p; p < handler.poolCount(); ++p) {
            byPool += mining.poolRecord(handler.poolIds(p)).mined;
        }
        assertEq(byPool, mining.released(), "sum over pools");
        uint256 byEpoch;
        for (uint256 e; e <= handler.maxEpoch(); ++e) {
            byEpoch += mining.releasedIn(e);
        }
        assertEq(byEpoch, mining.released(), "sum over epochs");
        assertEq(handler.hubReceived(), mining.released(), "paid to the hub");
    }

    /// Work is counted in the epoch it was done in, never in a later one: no epoch's work exceeds
    /// what was earned in it, and an epoch is paid only once no more work can be added to it.
    function invariant_WorkCountedInItsOwnEpoch() public view {
        uint256 now_ = mining.currentEpoch();
        for (uint256 e; e <= handler.maxEpoch(); ++e) {
            assertLe(mining.epochTotals(e).work, handler.workDoneIn(e), "epoch work within the work done in it");
            if (e + 2 > now_) assertEq(mining.releasedIn(e), 0, "nothing paid before the epoch is final");
        }
    }

    /// No epoch pays more than the budget it was published with.
    function invariant_EpochWithinBudget() public view {
        for (uint256 e; e <= handler.maxEpoch(); ++e) {
            assertLe(mining.releasedIn(e), mining.epochTotals(e).budget, "epoch budget");
        }
    }
}
