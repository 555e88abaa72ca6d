// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title IWorkerStaking
/// @notice What the router needs from the staking side: stake-weighted worker sampling, eligibility
/// and slashing. Worker fees are not pushed here; they accrue in the router and the staking side
/// pulls them with {IAgentRouter-collectWorkerFees} (one transfer for many fulfilments).
interface IWorkerStaking {
    /// @notice Picks a worker with probability proportional to its stake weight.
    /// @param seed Uniform random seed chosen by the router.
    /// @return worker The sampled worker, or address(0) when no worker is eligible.
    function sampleWorker(uint256 seed) external view returns (address worker);

    /// @notice {sampleWorker} over the stake weights as they were before `asOf` (the router passes a
    /// request's opening time), for drawing its backups: no stake move after `asOf` changes the result.
    /// @param seed Uniform random seed chosen by the router.
    /// @param asOf A time at most one request timeout (one day) ago.
    /// @return worker The sampled worker, or address(0) when none is eligible or `asOf` is too old.
    function sampleWorkerAt(uint256 seed, uint256 asOf) external view returns (address worker);

    /// @notice The router's word that `worker` holds as many unsettled requests as it may (`full`), or
    /// has room again: a full worker is not sampled, as one whose attestation expired. Sent only on
    /// those transitions.
    /// @param worker The worker.
    /// @param full True when it just filled, false when it has room again.
    function setWorkerFull(address worker, bool full) external;

    /// @notice True while the worker's pool backs it with at least the minimum stake.
    /// @param worker The worker.
    /// @return Whether the worker may be sampled.
    function isEligible(address worker) external view returns (bool);

    /// @notice Slashes the worker's pool `amount` PHA (at most its whole stake) for missing the
    /// deadline of `requestId`: `reporterReward` of it to the caller of the timeout (capped by what
    /// was slashed), the rest to the treasury. The router sizes both by the request, not the pool.
    /// @return slashed PHA taken from the pool.
    /// @param worker The worker that missed the deadline.
    /// @param requestId The request it missed.
    /// @param amount PHA to slash.
    /// @param reporter Who timed the request out.
    /// @param reporterReward PHA of the slash paid to `reporter`.
    function slashForTimeout(address worker, uint256 requestId, uint256 amount, address reporter, uint256 reporterReward)
        external
        returns (uint256 slashed);

    /// @notice Slashes the worker's pool hard for signing two different answers to `requestId` and
    /// jails the worker: `reporterReward` (capped by what was slashed) to the prover, the rest to
    /// the treasury.
    /// @return slashed PHA taken from the pool.
    /// @param worker The worker that signed two answers.
    /// @param requestId The request it answered twice.
    /// @param reporter Who proved it.
    /// @param reporterReward PHA of the slash paid to `reporter`.
    function slashForEquivocation(address worker, uint256 requestId, address reporter, uint256 reporterReward)
        external
        returns (uint256 slashed);
}
