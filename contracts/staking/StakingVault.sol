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
import {IStakeVotes} from "../interfaces/IStakeVotes.sol";
import {IStakingVault} from "./IStakingVault.sol";

/// @title StakingVault
/// @notice ERC-4626 vault over PHA: depositors hold vault shares while a manager spreads the PHA over
/// stake pools. The share price rises with pool rewards and falls with pool slashes.
/// @dev Entry and exit cannot capture a step change of the vault's value:
/// - Gains are streamed. Any rise of the vault's value (pool rewards when a pool settles its fees,
///   a donation, rounding) is locked when first seen and unlocks linearly over
///   PROFIT_UNLOCK_PERIOD, so depositing just before a harvest earns nothing that depositing just
///   after would not. Losses (slashes) count at once, first against locked gains.
/// - Exits are queued. There are no instant withdrawals (maxWithdraw and maxRedeem are zero, as
///   ERC-4626 allows): {requestRedeem} escrows shares, which are paid FIFO no earlier than the hub's
///   unbonding period later, at the lower of their value when requested and when paid. A holder
///   therefore bears every slash that lands while a direct staker's withdrawal would, and earns
///   nothing from gains seen after asking to leave (they go to the remaining holders, streamed).
/// totalAssets = idle PHA + value of the vault's pool positions, unclaimed rewards and unbonding
/// requests - locked gains. Exits never wait on the manager: {requestRedeem} itself unbonds, from the
/// vault's pool positions, whatever of the queue idle PHA, unclaimed rewards and unbonding requests
/// do not cover, so a redemption is payable when its claimableAt (the hub's unbonding period) comes,
/// like a direct staker's withdrawal; the governance timelock's exit window (unbonding + EXIT_MARGIN)
/// therefore covers vault holders too. A shortfall that appears later (a slash of the unbonding PHA)
/// can be unbonded by anyone at any time ({forceUnbond}). Requests cannot be cancelled, so a forced
/// unbonding always serves a real exit, and the vault's unbonding requests are valued per pool rather
/// than one by one, so their number is unbounded and can never block further unbonding.
/// Inflation protection: OpenZeppelin's virtual shares with a decimals offset, and donations stream.
/// Governance: the vault's own hub positions carry no votes; its holders' shares do, through the
/// stake-votes ledger, which the vault syncs on every deposit, transfer and redemption request.
contract StakingVault is IStakingVault, ERC4626, Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;
    using EnumerableSet for EnumerableSet.UintSet;

    /// @notice Bound on pools the vault holds, keeping totalAssets' loop bounded.
    uint256 public constant MAX_POOLS = 16;
    /// @notice How long a gain takes to unlock into the share price.
    uint256 public constant PROFIT_UNLOCK_PERIOD = 3 days;
    uint8 private constant DECIMALS_OFFSET = 6;

    /// @notice A queued redemption: `shares` escrowed in the vault until paid to `receiver`, paying
    /// at most `assets` (their value when requested), and nothing before `claimableAt`.
    struct RedeemRequest {
        address owner;
        uint64 requestedAt;
        address receiver;
        uint64 claimableAt;
        uint256 shares;
        uint256 assets;
    }

    /// @notice The staking hub holding the vault's pool positions.
    IStakingHub public immutable hub;
    /// @notice Chooses pools: allocates idle PHA and unbonds positions.
    address public manager;
    /// @notice Records holders' voting power (see StakedPhaVotes); zero until wired.
    IStakeVotes public stakeVotes;
    /// @notice Redemption requests ever made; ids run from 1.
    uint256 public redeemRequestCount;
    /// @notice Requests up to this id are paid; the queue head is queueHead + 1.
    uint256 public queueHead;
    /// @notice Vault shares escrowed by live redemption requests.
    uint256 public queuedShares;
    /// @notice Sum of the live requests' values when requested (the most the queue can be owed).
    uint256 public queuedAssetsCap;

    EnumerableSet.UintSet private _pools;
    EnumerableSet.UintSet private _pendingWithdrawals;
    mapping(uint256 requestId => RedeemRequest) private _redeemRequests;
    /// @dev The vault's unbonding shares and open requests per pool, valued without a per-request loop.
    mapping(uint256 poolId => uint256) private _unbondingShares;
    mapping(uint256 poolId => uint256) private _unbondingRequests;

    /// @dev Gain streaming checkpoint: the vault's gross value after the last checkpoint and flows,
    /// the gains still locked then, and when.
    uint256 private _recordedAssets;
    uint256 private _lockedProfit;
    uint256 private _checkpointAt;

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
    /// @param manager_ The new manager.
    function setManager(address manager_) external onlyOwner {
        if (manager_ == address(0)) revert ZeroAddress();
        manager = manager_;
        emit ManagerSet(manager_);
    }

    /// @notice Wires the voting-power ledger, once (a replaced ledger would keep stale votes). Owner only.
    /// @param stakeVotes_ The voting-power ledger.
    function setStakeVotes(IStakeVotes stakeVotes_) external onlyOwner {
        if (address(stakeVotes_) == address(0)) revert ZeroAddress();
        if (address(stakeVotes) != address(0)) revert StakeVotesAlreadySet();
        stakeVotes = stakeVotes_;
        emit StakeVotesSet(address(stakeVotes_));
    }

    // ---------------------------------------------------------------- ERC-4626

    /// @inheritdoc ERC4626
    /// @dev Gross value minus gains still locked (see the contract notes).
    function totalAssets() public view override returns (uint256) {
        uint256 gross = grossAssets();
        return gross - _lockedProfitAt(gross);
    }

    /// @inheritdoc ERC4626
    /// @dev Always zero: exits go through {requestRedeem}.
    function maxWithdraw(address) public pure override returns (uint256) {
        return 0;
    }

    /// @inheritdoc ERC4626
    /// @dev Always zero: exits go through {requestRedeem}.
    function maxRedeem(address) public pure override returns (uint256) {
        return 0;
    }

    /// @inheritdoc ERC4626
    function deposit(uint256 assets, address receiver) public override nonReentrant returns (uint256) {
        return super.deposit(assets, receiver);
    }

    /// @inheritdoc ERC4626
    function mint(uint256 shares, address receiver) public override nonReentrant returns (uint256) {
        return super.mint(shares, receiver);
    }

    // ---------------------------------------------------------------- accounting views

    /// @notice PHA held by the vault itself.
    /// @return PHA wei.
    function idleAssets() public view returns (uint256) {
        return IERC20(asset()).balanceOf(address(this));
    }

    /// @notice Idle PHA plus {allocatedAssets}, before locked gains are taken off.
    /// @return PHA wei.
    function grossAssets() public view returns (uint256) {
        return idleAssets() + allocatedAssets();
    }

    /// @notice Gains seen but not yet unlocked into the share price.
    /// @return PHA wei.
    function lockedProfit() external view returns (uint256) {
        return _lockedProfitAt(grossAssets());
    }

    /// @notice Value of the vault's pool positions, unclaimed rewards and unbonding requests.
    /// @return total PHA wei.
    function allocatedAssets() public view returns (uint256 total) {
        uint256 count = _pools.length();
        for (uint256 i; i < count; ++i) {
            uint256 poolId = _pools.at(i);
            total += hub.positionValue(poolId, address(this)) + _unbondingValue(poolId);
        }
    }

    /// @notice Value of the vault's requests in the hub's unbonding queues.
    /// @return total PHA wei.
    function unbondingAssets() public view returns (uint256 total) {
        uint256 count = _pools.length();
        for (uint256 i; i < count; ++i) {
            total += _unbondingValue(_pools.at(i));
        }
    }

    /// @notice The most the queued redemptions can take now (each pays at most its value when
    /// requested and at most its value now; rounded up: the queue is served first).
    /// @return PHA wei.
    function queuedAssets() public view returns (uint256) {
        // Valuing the queue values every position (a hub call per pool): skipped when it is empty.
        if (queuedShares == 0) return 0;
        return Math.min(queuedAssetsCap, _convertToAssets(queuedShares, Math.Rounding.Ceil));
    }

    /// @notice Idle PHA not owed to queued redemptions: what allocation may use.
    /// @return PHA wei.
    function availableLiquidity() public view returns (uint256) {
        uint256 idle = idleAssets();
        uint256 owed = queuedAssets();
        return idle > owed ? idle - owed : 0;
    }

    /// @notice Pools the vault holds a position or unbonding request in.
    /// @return The pool ids.
    function pools() external view returns (uint256[] memory) {
        return _pools.values();
    }

    /// @notice The vault's unbonding request ids in the hub.
    /// @return The hub request ids.
    function pendingWithdrawals() external view returns (uint256[] memory) {
        return _pendingWithdrawals.values();
    }

    /// @notice Redemption request `requestId` (zero owner once paid).
    /// @param requestId The redemption request.
    /// @return The request.
    function redeemRequest(uint256 requestId) external view returns (RedeemRequest memory) {
        return _redeemRequests[requestId];
    }

    // ---------------------------------------------------------------- manager

    /// @notice Stakes `amount` idle PHA into `poolId`. Manager only; never touches PHA owed to the queue.
    /// @param poolId The pool.
    /// @param amount PHA wei to stake.
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
    /// @param poolId The pool.
    /// @param shares Active hub shares to unbond.
    function requestPoolWithdrawal(uint256 poolId, uint256 shares) external onlyManager nonReentrant {
        _requestPoolWithdrawal(poolId, shares, false);
    }

    // ---------------------------------------------------------------- keepers (anyone)

    /// @notice Starts unlocking the gains seen since the last checkpoint (deposits and queue
    /// processing do this too).
    function checkpoint() external nonReentrant {
        _checkpoint();
    }

    /// @notice Collects the listed unbonding requests (see {pendingWithdrawals}); each must be the
    /// vault's and unlocked. Returns the PHA received.
    /// @param hubRequestIds The hub unbonding requests to collect.
    /// @return total PHA wei received.
    function completePoolWithdrawals(uint256[] calldata hubRequestIds) external nonReentrant returns (uint256 total) {
        for (uint256 i; i < hubRequestIds.length; ++i) {
            uint256 hubRequestId = hubRequestIds[i];
            if (!_pendingWithdrawals.remove(hubRequestId)) revert UnknownPoolWithdrawal(hubRequestId);
            IStakingHub.WithdrawalRequest memory request = hub.withdrawalRequest(hubRequestId);
            _unbondingShares[request.poolId] -= request.shares;
            --_unbondingRequests[request.poolId];
            uint256 amount = hub.withdraw(hubRequestId);
            total += amount;
            emit PoolWithdrawalCompleted(hubRequestId, amount);
        }
    }

    /// @notice Claims the vault's rewards from every pool and forgets pools it no longer holds.
    /// @return total PHA wei claimed.
    function claimPoolRewards() external nonReentrant returns (uint256 total) {
        for (uint256 i = _pools.length(); i > 0; --i) {
            uint256 poolId = _pools.at(i - 1);
            uint256 amount = hub.claimRewards(poolId);
            total += amount;
            emit PoolRewardsClaimed(poolId, amount);
            if (hub.sharesOf(poolId, address(this)) == 0 && _unbondingRequests[poolId] == 0) _pools.remove(poolId);
        }
    }

    /// @notice Queues a redemption of `shares` (escrowed now) to be paid to `receiver` once the hub's
    /// unbonding period has passed, at the lower of their value now and then, and unbonds at once
    /// what the vault's idle PHA, unclaimed rewards and unbonding requests do not cover (from its
    /// positions in pool order), so the PHA is there when the request becomes claimable.
    /// A request is final: it cannot be cancelled.
    /// @param shares Vault shares to redeem.
    /// @param receiver Receiver of the PHA.
    /// @return requestId The redemption request.
    function requestRedeem(uint256 shares, address receiver) external nonReentrant returns (uint256 requestId) {
        if (receiver == address(0)) revert ZeroAddress();
        uint256 assets = previewRedeem(shares);
        if (assets == 0) revert ZeroAmount();
        _transfer(msg.sender, address(this), shares);
        requestId = ++redeemRequestCount;
        uint64 claimableAt = uint64(block.timestamp + hub.params().unbondingPeriod);
        _redeemRequests[requestId] = RedeemRequest({
            owner: msg.sender,
            requestedAt: uint64(block.timestamp),
            receiver: receiver,
            claimableAt: claimableAt,
            shares: shares,
            assets: assets
        });
        queuedShares += shares;
        queuedAssetsCap += assets;
        emit RedeemRequested(requestId, msg.sender, receiver, shares, assets, claimableAt);
        uint256 shortfall = _shortfall();
        for (uint256 i; shortfall != 0 && i < _pools.length(); ++i) {
            shortfall -= _unbondFor(_pools.at(i), shortfall);
        }
    }

    /// @notice Pays up to `maxRequests` queued redemptions, in order, while they are claimable and
    /// idle PHA covers them. What a request's shares are worth above what it pays stays with the
    /// remaining holders, streamed like any gain.
    /// @return paid Number of requests paid.
    /// @param maxRequests The most requests to pay.
    function processRedeemQueue(uint256 maxRequests) external nonReentrant returns (uint256 paid) {
        _checkpoint();
        uint256 head = queueHead;
        uint256 last = redeemRequestCount;
        IERC20 pha = IERC20(asset());
        for (; paid < maxRequests && head < last; ++paid) {
            uint256 requestId = head + 1;
            RedeemRequest memory request = _redeemRequests[requestId];
            if (block.timestamp < request.claimableAt) break;
            uint256 value = previewRedeem(request.shares);
            uint256 assets = Math.min(value, request.assets);
            if (assets > pha.balanceOf(address(this))) break;
            delete _redeemRequests[requestId];
            queuedShares -= request.shares;
            queuedAssetsCap -= request.assets;
            _burn(address(this), request.shares);
            _recordedAssets -= assets;
            _lockedProfit += value - assets;
            pha.safeTransfer(request.receiver, assets);
            emit RedeemProcessed(requestId, request.receiver, request.shares, assets);
            emit Withdraw(msg.sender, request.receiver, request.owner, assets, request.shares);
            head = requestId;
        }
        queueHead = head;
    }

    /// @notice Unbonds enough of the vault's position in `poolId` to cover what the queue is owed
    /// beyond idle PHA, unclaimed rewards and unbonding requests. Anyone, whenever there is such a
    /// shortfall ({requestRedeem} unbonds it itself; one can appear later if unbonding PHA is slashed).
    /// @param poolId The pool to unbond from.
    /// @return hubRequestId The hub unbonding request opened.
    function forceUnbond(uint256 poolId) external nonReentrant returns (uint256 hubRequestId) {
        if (queuedShares == 0) revert QueueEmpty();
        uint256 shortfall = _shortfall();
        if (shortfall == 0) revert NoShortfall();
        uint256 held = hub.sharesOf(poolId, address(this));
        if (held == 0) revert NoPosition(poolId);
        return _requestPoolWithdrawal(poolId, Math.min(hub.sharesForStake(poolId, shortfall), held), true);
    }

    // ---------------------------------------------------------------- internals

    /// @dev Deposits checkpoint first (so the gains seen until now start unlocking before the new
    /// shares exist) and then record the PHA that came in as a flow, not a gain.
    function _deposit(address caller, address receiver, uint256 assets, uint256 shares) internal override {
        _checkpoint();
        super._deposit(caller, receiver, assets, shares);
        _recordedAssets += assets;
        _syncVotes(receiver);
    }

    /// @dev Shares that move take their votes along. Mints are synced in {_deposit}, once the new
    /// PHA is recorded as a flow (read before, it would count as a locked gain and under-mark them).
    function _update(address from, address to, uint256 value) internal override {
        super._update(from, to, value);
        if (from == address(0)) return;
        _syncVotes(from);
        _syncVotes(to);
    }

    /// @dev The vault's own balance (escrowed redemptions) votes for nobody.
    function _syncVotes(address account) private {
        IStakeVotes votes = stakeVotes;
        if (address(votes) != address(0) && account != address(this) && account != address(0)) votes.sync(0, account);
    }

    /// @dev Records the gross value now, locking any gain seen since the last checkpoint; a no-op
    /// for totalAssets, which already counts unseen gains as locked.
    function _checkpoint() private {
        uint256 gross = grossAssets();
        uint256 locked = _lockedProfitAt(gross);
        _recordedAssets = gross;
        _lockedProfit = locked;
        _checkpointAt = block.timestamp;
        emit Checkpoint(gross, locked);
    }

    /// @dev Gains locked at the last checkpoint, less what has unlocked since (rounded up), plus any
    /// gain seen since, or less any loss seen since (losses eat locked gains first). Never above
    /// `gross`: locked gains are part of the recorded value, and flows keep it so.
    function _lockedProfitAt(uint256 gross) private view returns (uint256 locked) {
        uint256 elapsed = block.timestamp - _checkpointAt;
        if (elapsed < PROFIT_UNLOCK_PERIOD) {
            locked = Math.mulDiv(_lockedProfit, PROFIT_UNLOCK_PERIOD - elapsed, PROFIT_UNLOCK_PERIOD, Math.Rounding.Ceil);
        }
        uint256 recorded = _recordedAssets;
        if (gross >= recorded) return locked + (gross - recorded);
        uint256 loss = recorded - gross;
        return locked > loss ? locked - loss : 0;
    }

    /// @dev The vault's unbonding shares in `poolId` valued together, less one wei per request beyond
    /// the first: the hub rounds each request down on its own, so this never counts more than they pay.
    function _unbondingValue(uint256 poolId) private view returns (uint256) {
        uint256 requests = _unbondingRequests[poolId];
        if (requests == 0) return 0;
        uint256 value = hub.unbondingValue(poolId, _unbondingShares[poolId]);
        uint256 dust = requests - 1;
        return value > dust ? value - dust : 0;
    }

    /// @dev What the queue is owed beyond idle PHA, unclaimed rewards and unbonding requests.
    function _shortfall() private view returns (uint256) {
        uint256 owed = queuedAssets();
        if (owed == 0) return 0;
        uint256 covered = idleAssets() + unbondingAssets();
        uint256 count = _pools.length();
        for (uint256 i; i < count && covered < owed; ++i) {
            covered += hub.pendingRewards(_pools.at(i), address(this));
        }
        return owed > covered ? owed - covered : 0;
    }

    /// @dev Unbonds up to `amount` of the vault's active stake in `poolId` (shares rounded up, so the
    /// unbonding PHA covers `amount` when the position is large enough) and returns what it covers.
    /// A redemption is never refused for it: a withdrawal the hub refuses (a dust amount worth zero
    /// unbonding shares) covers nothing and the shortfall is left to the next pool or {forceUnbond}.
    function _unbondFor(uint256 poolId, uint256 amount) private returns (uint256 covered) {
        uint256 held = hub.sharesOf(poolId, address(this));
        if (held == 0) return 0;
        uint256 shares = Math.min(hub.sharesForStake(poolId, amount), held);
        try hub.requestWithdrawal(poolId, shares) returns (uint256 hubRequestId) {
            uint256 unbonding = _trackPoolWithdrawal(poolId, hubRequestId, shares, true);
            covered = Math.min(amount, hub.unbondingValue(poolId, unbonding));
        } catch {
            return 0;
        }
    }

    function _requestPoolWithdrawal(uint256 poolId, uint256 shares, bool forced) private returns (uint256 hubRequestId) {
        hubRequestId = hub.requestWithdrawal(poolId, shares);
        _trackPoolWithdrawal(poolId, hubRequestId, shares, forced);
    }

    /// @dev Books a hub withdrawal request of the vault's; returns its unbonding shares.
    function _trackPoolWithdrawal(uint256 poolId, uint256 hubRequestId, uint256 shares, bool forced)
        private
        returns (uint256 unbondingShares)
    {
        unbondingShares = hub.withdrawalRequest(hubRequestId).shares;
        _pendingWithdrawals.add(hubRequestId);
        _unbondingShares[poolId] += unbondingShares;
        ++_unbondingRequests[poolId];
        emit PoolWithdrawalRequested(poolId, hubRequestId, shares, forced);
    }

    function _decimalsOffset() internal pure override returns (uint8) {
        return DECIMALS_OFFSET;
    }
}
