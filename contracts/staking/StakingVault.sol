// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {ERC4626} from "@openzeppelin/contracts/token/ERC20/extensions/ERC4626.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {EnumerableSet} from "@openzeppelin/contracts/utils/structs/EnumerableSet.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {IStakingHub} from "./IStakingHub.sol";

/// @title StakingVault
/// @notice ERC-4626 vault over PHA: depositors hold vault shares while a manager spreads the PHA over
/// stake pools. The share price rises with pool rewards and falls with pool slashes.
/// @dev totalAssets = idle PHA + value of the vault's active pool shares + its unclaimed rewards +
/// its unbonding requests. Instant withdrawals are limited to idle PHA not owed to the redemption
/// queue (maxWithdraw/maxRedeem say so); larger exits use {requestRedeem}, which escrows shares that
/// are paid FIFO at the then-current price as PHA becomes idle. If the manager lets the queue head
/// wait past QUEUE_GRACE_PERIOD, anyone may unbond pool positions to cover the shortfall
/// ({forceUnbond}), so the vault never locks. Inflation protection: OpenZeppelin's virtual shares
/// with a decimals offset.
contract StakingVault is ERC4626, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using EnumerableSet for EnumerableSet.UintSet;

    /// @notice Bound on pools the vault holds, keeping totalAssets' loop bounded.
    uint256 public constant MAX_POOLS = 16;
    /// @notice Bound on the vault's concurrent unbonding requests.
    uint256 public constant MAX_PENDING_WITHDRAWALS = 32;
    /// @notice How long the queue head may wait before anyone can force pool unbonding.
    uint256 public constant QUEUE_GRACE_PERIOD = 3 days;
    uint8 private constant DECIMALS_OFFSET = 6;

    /// @notice A queued redemption: `shares` escrowed in the vault until paid to `receiver`.
    struct RedeemRequest {
        address owner;
        uint64 requestedAt;
        address receiver;
        uint256 shares;
    }

    /// @notice The staking hub holding the vault's pool positions.
    IStakingHub public immutable hub;
    /// @notice Chooses pools: allocates idle PHA and unbonds positions.
    address public manager;
    /// @notice Redemption requests ever made; ids run from 1.
    uint256 public redeemRequestCount;
    /// @notice Requests up to this id are paid or cancelled; the queue head is queueHead + 1.
    uint256 public queueHead;
    /// @notice Vault shares escrowed by live redemption requests.
    uint256 public queuedShares;

    EnumerableSet.UintSet private _pools;
    uint256[] private _pendingWithdrawals;
    mapping(uint256 requestId => RedeemRequest) private _redeemRequests;

    event ManagerSet(address manager);
    event Allocated(uint256 indexed poolId, uint256 amount, uint256 shares);
    event PoolWithdrawalRequested(uint256 indexed poolId, uint256 indexed hubRequestId, uint256 shares, bool forced);
    event PoolWithdrawalCompleted(uint256 indexed hubRequestId, uint256 amount);
    event PoolRewardsClaimed(uint256 indexed poolId, uint256 amount);
    event RedeemRequested(uint256 indexed requestId, address indexed owner, address indexed receiver, uint256 shares);
    event RedeemCancelled(uint256 indexed requestId);
    event RedeemProcessed(uint256 indexed requestId, address indexed receiver, uint256 shares, uint256 assets);

    error NotManager(address caller);
    error ZeroAddress();
    error ZeroAmount();
    error TooManyPools();
    error TooManyPendingWithdrawals();
    error InsufficientLiquidity(uint256 requested, uint256 available);
    error UnknownRedeemRequest(uint256 requestId);
    error NotRequestOwner(uint256 requestId, address caller);
    error QueueEmpty();
    error GracePeriodNotOver(uint256 endsAt);
    error NoShortfall();
    error NoPosition(uint256 poolId);

    modifier onlyManager() {
        if (msg.sender != manager) revert NotManager(msg.sender);
        _;
    }

    /// @param pha The asset (PHA).
    /// @param hub_ The staking hub.
    /// @param manager_ Initial manager.
    /// @param initialOwner Governance, sets the manager (may be a timelock).
    constructor(IERC20 pha, IStakingHub hub_, address manager_, address initialOwner)
        ERC4626(pha)
        ERC20("Staked PHA Vault", "vPHA")
        Ownable(initialOwner)
    {
        if (address(hub_) == address(0) || manager_ == address(0)) revert ZeroAddress();
        hub = hub_;
        manager = manager_;
        emit ManagerSet(manager_);
    }

    /// @notice Replaces the manager. Owner only.
    function setManager(address manager_) external onlyOwner {
        if (manager_ == address(0)) revert ZeroAddress();
        manager = manager_;
        emit ManagerSet(manager_);
    }

    // ---------------------------------------------------------------- ERC-4626

    /// @inheritdoc ERC4626
    function totalAssets() public view override returns (uint256) {
        return idleAssets() + allocatedAssets();
    }

    /// @inheritdoc ERC4626
    /// @dev Limited by idle PHA not owed to the queue; {maxWithdraw} follows (OpenZeppelin derives it).
    function maxRedeem(address owner) public view override returns (uint256) {
        return Math.min(balanceOf(owner), _convertToShares(availableLiquidity(), Math.Rounding.Floor));
    }

    /// @inheritdoc ERC4626
    function deposit(uint256 assets, address receiver) public override nonReentrant returns (uint256) {
        return super.deposit(assets, receiver);
    }

    /// @inheritdoc ERC4626
    function mint(uint256 shares, address receiver) public override nonReentrant returns (uint256) {
        return super.mint(shares, receiver);
    }

    /// @inheritdoc ERC4626
    function withdraw(uint256 assets, address receiver, address owner) public override nonReentrant returns (uint256) {
        return super.withdraw(assets, receiver, owner);
    }

    /// @inheritdoc ERC4626
    function redeem(uint256 shares, address receiver, address owner) public override nonReentrant returns (uint256) {
        return super.redeem(shares, receiver, owner);
    }

    // ---------------------------------------------------------------- accounting views

    /// @notice PHA held by the vault itself.
    function idleAssets() public view returns (uint256) {
        return IERC20(asset()).balanceOf(address(this));
    }

    /// @notice Value of the vault's pool positions, unclaimed rewards and unbonding requests.
    function allocatedAssets() public view returns (uint256 total) {
        total = unbondingAssets();
        uint256 count = _pools.length();
        for (uint256 i; i < count; ++i) {
            total += hub.positionValue(_pools.at(i), address(this));
        }
    }

    /// @notice Value of the vault's requests in the hub's unbonding queues.
    function unbondingAssets() public view returns (uint256 total) {
        uint256 count = _pendingWithdrawals.length;
        for (uint256 i; i < count; ++i) {
            total += hub.withdrawalValue(_pendingWithdrawals[i]);
        }
    }

    /// @notice PHA the queued redemptions would take now (rounded up: the queue is served first).
    function queuedAssets() public view returns (uint256) {
        return _convertToAssets(queuedShares, Math.Rounding.Ceil);
    }

    /// @notice Idle PHA not owed to queued redemptions: what instant withdrawals and allocation may use.
    function availableLiquidity() public view returns (uint256) {
        uint256 idle = idleAssets();
        uint256 owed = queuedAssets();
        return idle > owed ? idle - owed : 0;
    }

    /// @notice Pools the vault holds a position in.
    function pools() external view returns (uint256[] memory) {
        return _pools.values();
    }

    /// @notice The vault's unbonding request ids in the hub.
    function pendingWithdrawals() external view returns (uint256[] memory) {
        return _pendingWithdrawals;
    }

    /// @notice Redemption request `requestId` (zero owner once paid or cancelled).
    function redeemRequest(uint256 requestId) external view returns (RedeemRequest memory) {
        return _redeemRequests[requestId];
    }

    // ---------------------------------------------------------------- manager

    /// @notice Stakes `amount` idle PHA into `poolId`. Manager only; never touches PHA owed to the queue.
    function allocate(uint256 poolId, uint256 amount) external onlyManager nonReentrant {
        if (amount == 0) revert ZeroAmount();
        uint256 available = availableLiquidity();
        if (amount > available) revert InsufficientLiquidity(amount, available);
        if (_pools.add(poolId) && _pools.length() > MAX_POOLS) revert TooManyPools();
        IERC20(asset()).forceApprove(address(hub), amount);
        uint256 shares = hub.stake(poolId, amount);
        emit Allocated(poolId, amount, shares);
    }

    /// @notice Moves `shares` of the vault's position in `poolId` into the hub's unbonding queue. Manager only.
    function requestPoolWithdrawal(uint256 poolId, uint256 shares) external onlyManager nonReentrant {
        _requestPoolWithdrawal(poolId, shares, false);
    }

    // ---------------------------------------------------------------- keepers (anyone)

    /// @notice Collects every unbonding request that has unlocked; returns the PHA received.
    function completePoolWithdrawals() external nonReentrant returns (uint256 total) {
        for (uint256 i = _pendingWithdrawals.length; i > 0; --i) {
            uint256 hubRequestId = _pendingWithdrawals[i - 1];
            if (hub.withdrawalRequest(hubRequestId).unlockAt > block.timestamp) continue;
            _pendingWithdrawals[i - 1] = _pendingWithdrawals[_pendingWithdrawals.length - 1];
            _pendingWithdrawals.pop();
            uint256 amount = hub.withdraw(hubRequestId);
            total += amount;
            emit PoolWithdrawalCompleted(hubRequestId, amount);
        }
    }

    /// @notice Claims the vault's rewards from every pool and forgets pools it no longer holds.
    function claimPoolRewards() external nonReentrant returns (uint256 total) {
        for (uint256 i = _pools.length(); i > 0; --i) {
            uint256 poolId = _pools.at(i - 1);
            uint256 amount = hub.claimRewards(poolId);
            total += amount;
            emit PoolRewardsClaimed(poolId, amount);
            if (hub.sharesOf(poolId, address(this)) == 0) _pools.remove(poolId);
        }
    }

    /// @notice Queues a redemption of `shares` (escrowed now) to be paid to `receiver` when PHA is idle.
    function requestRedeem(uint256 shares, address receiver) external nonReentrant returns (uint256 requestId) {
        if (shares == 0) revert ZeroAmount();
        if (receiver == address(0)) revert ZeroAddress();
        _transfer(msg.sender, address(this), shares);
        requestId = ++redeemRequestCount;
        _redeemRequests[requestId] =
            RedeemRequest({owner: msg.sender, requestedAt: uint64(block.timestamp), receiver: receiver, shares: shares});
        queuedShares += shares;
        emit RedeemRequested(requestId, msg.sender, receiver, shares);
    }

    /// @notice Returns a queued request's escrowed shares to its owner.
    function cancelRedeem(uint256 requestId) external nonReentrant {
        RedeemRequest storage request = _redeemRequests[requestId];
        uint256 shares = request.shares;
        if (shares == 0) revert UnknownRedeemRequest(requestId);
        if (request.owner != msg.sender) revert NotRequestOwner(requestId, msg.sender);
        delete _redeemRequests[requestId];
        queuedShares -= shares;
        emit RedeemCancelled(requestId);
        _transfer(address(this), msg.sender, shares);
    }

    /// @notice Pays up to `maxRequests` queued redemptions, in order, while idle PHA covers them.
    /// @return paid Number of requests paid (cancelled ones skipped are not counted).
    function processRedeemQueue(uint256 maxRequests) external nonReentrant returns (uint256 paid) {
        uint256 head = queueHead;
        uint256 last = redeemRequestCount;
        IERC20 pha = IERC20(asset());
        for (uint256 steps; steps < maxRequests && head < last; ++steps) {
            uint256 requestId = head + 1;
            RedeemRequest memory request = _redeemRequests[requestId];
            if (request.shares != 0) {
                uint256 assets = previewRedeem(request.shares);
                if (assets > pha.balanceOf(address(this))) break;
                delete _redeemRequests[requestId];
                queuedShares -= request.shares;
                _burn(address(this), request.shares);
                pha.safeTransfer(request.receiver, assets);
                emit RedeemProcessed(requestId, request.receiver, request.shares, assets);
                emit Withdraw(msg.sender, request.receiver, request.owner, assets, request.shares);
                ++paid;
            }
            head = requestId;
        }
        queueHead = head;
    }

    /// @notice After the queue head has waited QUEUE_GRACE_PERIOD, unbonds enough of the vault's
    /// position in `poolId` to cover what idle PHA, unclaimed rewards and unbonding requests do not.
    function forceUnbond(uint256 poolId) external nonReentrant returns (uint256 hubRequestId) {
        RedeemRequest storage head = _redeemRequests[queueHead + 1];
        if (head.shares == 0) revert QueueEmpty();
        uint256 graceEndsAt = uint256(head.requestedAt) + QUEUE_GRACE_PERIOD;
        if (block.timestamp < graceEndsAt) revert GracePeriodNotOver(graceEndsAt);
        uint256 covered = idleAssets() + unbondingAssets();
        uint256 count = _pools.length();
        for (uint256 i; i < count; ++i) {
            covered += hub.pendingRewards(_pools.at(i), address(this));
        }
        uint256 owed = queuedAssets();
        if (owed <= covered) revert NoShortfall();
        uint256 held = hub.sharesOf(poolId, address(this));
        if (held == 0) revert NoPosition(poolId);
        uint256 shares = Math.min(hub.sharesForStake(poolId, owed - covered), held);
        return _requestPoolWithdrawal(poolId, shares, true);
    }

    // ---------------------------------------------------------------- internals

    function _requestPoolWithdrawal(uint256 poolId, uint256 shares, bool forced) private returns (uint256 hubRequestId) {
        if (_pendingWithdrawals.length >= MAX_PENDING_WITHDRAWALS) revert TooManyPendingWithdrawals();
        hubRequestId = hub.requestWithdrawal(poolId, shares);
        _pendingWithdrawals.push(hubRequestId);
        emit PoolWithdrawalRequested(poolId, hubRequestId, shares, forced);
    }

    function _decimalsOffset() internal pure override returns (uint8) {
        return DECIMALS_OFFSET;
    }
}
