// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {VaultFixture} from "./VaultFixture.sol";
import {PoolPerformance, IStakingHubPools} from "../../contracts/staking/PoolPerformance.sol";
import {VaultAllocator, IManagedVault, IAllocatorHub} from "../../contracts/staking/VaultAllocator.sol";

/// @notice The vault run by the allocator (cap 40 %, window 3, minimum stay 2, drift 1 %) over two
/// honest pools of 10,000 PHA with traffic in proportion to their stake, and an attacker's pool X
/// (20 % commission, no stake yet), all three candidates; 30,000 PHA deposited. The set-up of the
/// score attacks (ScoreStakeMoves, ReturnInflation, VaultAllocatorStay).
abstract contract AllocatorFixture is VaultFixture {
    event Measured(string what, uint256 value);
    event MeasuredSigned(string what, int256 value);

    address internal constant CURATOR = address(0xC0);
    address internal constant ATTACKER = address(0xBAD);
    address internal constant WORKER_X = address(0x1BAD);
    uint16 internal constant CAP = 4_000;
    uint16 internal constant WINDOW = 3;
    uint16 internal constant MIN_STAY = 2;
    uint256 internal constant DEPOSIT = 30_000 ether;
    /// @dev Honest traffic: fees per epoch per PHA of a pool's active stake (0.03 %, ~11 % a year),
    /// what the router's stake-weighted assignment gives every pool.
    uint256 internal constant FEES_PPM = 300;
    uint256 internal constant HONEST_STAKE = 10_000 ether;
    uint16 internal constant ATTACKER_COMMISSION = 2_000;

    PoolPerformance internal performance;
    VaultAllocator internal allocator;
    uint256 internal poolX;

    function setUp() public virtual override {
        super.setUp();
        poolX = createPool(ATTACKER, ATTACKER_COMMISSION);
        addWorker(poolX, ATTACKER, WORKER_X);
        stakeAs(OPERATOR, poolA, HONEST_STAKE);
        stakeAs(OPERATOR_B, poolB, HONEST_STAKE);
        performance = new PoolPerformance(IStakingHubPools(address(hub)));
        allocator = new VaultAllocator(
            IManagedVault(address(vault)),
            IAllocatorHub(address(hub)),
            performance,
            VaultAllocator.Bounds({maxPoolShareBps: 5_000, minWindow: 2, maxWindow: 10, minStay: 1, maxDriftBps: 500}),
            VaultAllocator.Params({maxPoolShareBps: CAP, window: WINDOW, minStay: MIN_STAY, driftBps: 100}),
            CURATOR,
            GOVERNANCE
        );
        vm.prank(GOVERNANCE);
        vault.setManager(address(allocator));
        uint256[] memory ids = new uint256[](3);
        (ids[0], ids[1], ids[2]) = (poolA, poolB, poolX);
        vm.prank(CURATOR);
        allocator.setCandidates(ids);
        depositAs(ALICE, DEPOSIT);
    }

    /// @dev Fees to the honest pools in proportion to their stake.
    function _honestTraffic() internal {
        creditFees(WORKER_A, hub.poolState(poolA).activeStake * FEES_PPM / 1e6);
        creditFees(WORKER_B, hub.poolState(poolB).activeStake * FEES_PPM / 1e6);
    }

    /// @dev The vault's active stake in `poolId`.
    function _held(uint256 poolId) internal view returns (uint256) {
        return hub.stakeOf(poolId, address(vault));
    }

    function _max(uint256 a, uint256 b) internal pure returns (uint256) {
        return a > b ? a : b;
    }
}
