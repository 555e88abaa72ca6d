// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {StakingFixture} from "./StakingFixture.sol";
import {MiningRewards} from "../../contracts/staking/MiningRewards.sol";

/// @notice The staking fixture plus a funded mining reserve wired into the hub.
abstract contract MiningFixture is StakingFixture {
    uint128 internal constant EPOCH_BUDGET = 1_000 ether;
    uint16 internal constant DECAY_BPS = 1_000;
    uint32 internal constant DECAY_EPOCHS = 30;
    uint16 internal constant SHARE_BPS = 8_000;
    uint32 internal constant FAULT_PENALTY = 1 days;
    uint16 internal constant RESERVE_SHARE_BPS = 3_000;
    uint256 internal constant RESERVE = 1_000_000 ether;

    MiningRewards internal mining;

    function setUp() public virtual override {
        super.setUp();
        mining = new MiningRewards(pha, address(hub), defaultSchedule(), RESERVE_SHARE_BPS, GOVERNANCE);
        vm.prank(GOVERNANCE);
        hub.setMiningRewards(address(mining));
        pha.approve(address(mining), type(uint256).max);
        mining.fund(RESERVE);
    }

    function defaultSchedule() internal pure returns (MiningRewards.Schedule memory) {
        return MiningRewards.Schedule({
            initialEpochBudget: EPOCH_BUDGET,
            decayBps: DECAY_BPS,
            decayEpochs: DECAY_EPOCHS,
            shareBps: SHARE_BPS,
            faultPenalty: FAULT_PENALTY
        });
    }

    function setSchedule(MiningRewards.Schedule memory s) internal {
        vm.prank(GOVERNANCE);
        mining.setSchedule(s);
    }

    /// @dev Start of the mining epoch `epoch`.
    function epochStart(uint256 epoch) internal view returns (uint256) {
        return mining.genesis() + epoch * mining.EPOCH();
    }

    /// @dev The self-dealing cap on `fees` of worker fees at the mock router's protocol fee.
    function feeCap(uint256 fees) internal view returns (uint256) {
        return fees * router.protocolFeeBps() * SHARE_BPS / 1e8;
    }
}
