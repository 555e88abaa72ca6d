import { setTimeout as sleep } from "node:timers/promises";
import type { ContractTransactionReceipt } from "ethers";
import type { AgentNetwork } from "./contracts.js";
import { sendTx } from "./errors.js";

/** What one `harvestPool` paid into a pool's distribution, as its events say. */
export interface PoolHarvest {
  poolId: bigint;
  /** PHA distributed to the pool (its workers' fees collected now plus any mining reward). */
  distributed: bigint;
  /** Of which the operator's commission. */
  commission: bigint;
  /** Mining reward paid, by epoch. */
  mined: { epoch: bigint; reward: bigint }[];
  /** Epochs whose reward was withheld for a fault of the pool's workers. */
  withheld: bigint[];
  txHash: string;
}

/**
 * Harvests each pool once (`stakingHub.harvestPool`, open to anyone): collects its workers' fees
 * from the router and lets the mining reserve pay the epochs that became final.
 */
export async function harvestPools(net: AgentNetwork, pools: readonly bigint[]): Promise<PoolHarvest[]> {
  const results: PoolHarvest[] = [];
  for (const poolId of pools) {
    const receipt = await sendTx(`stakingHub.harvestPool(${poolId})`, () => net.stakingHub.harvestPool(poolId));
    results.push(readHarvest(net, poolId, receipt));
  }
  return results;
}

function readHarvest(net: AgentNetwork, poolId: bigint, receipt: ContractTransactionReceipt): PoolHarvest {
  const result: PoolHarvest = { poolId, distributed: 0n, commission: 0n, mined: [], withheld: [], txHash: receipt.hash };
  const hub = String(net.stakingHub.target).toLowerCase();
  const mining = String(net.miningRewards.target).toLowerCase();
  for (const log of receipt.logs) {
    const address = log.address.toLowerCase();
    const parsed = address === hub ? net.stakingHub.interface.parseLog(log) : address === mining ? net.miningRewards.interface.parseLog(log) : null;
    if (parsed === null || parsed.args.poolId !== poolId) continue;
    if (parsed.name === "RewardsDistributed") {
      result.distributed += parsed.args.amount as bigint;
      result.commission += parsed.args.commission as bigint;
    } else if (parsed.name === "MiningRewardPaid") {
      result.mined.push({ epoch: parsed.args.epoch as bigint, reward: parsed.args.reward as bigint });
    } else if (parsed.name === "MiningRewardWithheld") {
      result.withheld.push(parsed.args.epoch as bigint);
    }
  }
  return result;
}

export interface KeeperOptions {
  /** How often the chain's mining epoch is read (default 60 s). */
  pollMs?: number;
  /** Stops the keeper. */
  signal?: AbortSignal;
  /** Each epoch's harvests, once sent. */
  onHarvest?: (epoch: bigint, results: PoolHarvest[]) => void;
  /** A failed round (RPC error, reverted harvest): the keeper tries again at the next poll. */
  onError?: (error: unknown) => void;
}

/**
 * Harvests `pools` once per mining epoch, as soon as the epoch begins. Mining counts a pool's work
 * only if its fees are collected within the epoch after the one they were earned in (collected
 * later, the work could be moved into a quiet epoch by timing the harvest, so it earns nothing); a
 * pool nobody stakes into or withdraws from is collected by nobody unless it is harvested. An early
 * harvest also pays the epoch that just became final before any later fault can withhold it.
 * Runs until `signal` aborts; a failed round is retried at the next poll, not skipped.
 */
export async function keepHarvested(net: AgentNetwork, pools: readonly bigint[], options: KeeperOptions = {}): Promise<void> {
  const { pollMs = 60_000, signal } = options;
  let harvested: bigint | undefined;
  while (!signal?.aborted) {
    try {
      const epoch = await net.miningRewards.currentEpoch();
      if (epoch !== harvested) {
        const results = await harvestPools(net, pools);
        harvested = epoch;
        options.onHarvest?.(epoch, results);
      }
    } catch (error) {
      if (options.onError === undefined) throw error;
      options.onError(error);
    }
    await sleep(pollMs, undefined, { signal }).catch(() => undefined);
  }
}
