import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { harvestPools, keepHarvested, type PoolHarvest } from "../keeper.js";
import { formatPha, parseId, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  pools?: string;
  watch: boolean;
  pollSeconds: number;
}

function describe(harvest: PoolHarvest): string {
  const mined = harvest.mined.map((m) => `epoch ${m.epoch} ${formatPha(m.reward)}`).join(", ") || "none due";
  const withheld = harvest.withheld.length === 0 ? "" : `; withheld for a fault: epoch ${harvest.withheld.join(", ")}`;
  return `pool ${harvest.poolId}: ${formatPha(harvest.distributed)} distributed (${formatPha(harvest.commission)} commission); mining: ${mined}${withheld}`;
}

/** Harvests pools now, or with --watch once per mining epoch until interrupted. */
export default async function stakingHarvest(args: Args, hre: HardhatRuntimeEnvironment): Promise<PoolHarvest[]> {
  const pools = (args.pools ?? "").split(",").map((id) => parseId(id, "--pools"));
  const { net } = await taskNetwork(hre, args);
  if (!args.watch) {
    const results = await harvestPools(net, pools);
    for (const harvest of results) console.log(describe(harvest));
    return results;
  }
  const stop = new AbortController();
  process.once("SIGINT", () => stop.abort());
  const all: PoolHarvest[] = [];
  console.log(`Harvesting pool ${pools.join(", ")} once per mining epoch (Ctrl-C stops)`);
  await keepHarvested(net, pools, {
    pollMs: args.pollSeconds * 1000,
    signal: stop.signal,
    onHarvest: (epoch, results) => {
      all.push(...results);
      for (const harvest of results) console.log(`epoch ${epoch}: ${describe(harvest)}`);
    },
    onError: (error) => console.error(`harvest failed, retrying at the next poll: ${(error as Error).message}`),
  });
  return all;
}
