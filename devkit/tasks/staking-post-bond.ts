import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { postBond } from "../workers.js";
import { formatPha, parseId, parsePha, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  pool?: string;
  amount?: string;
}

export default async function stakingPostBond(args: Args, hre: HardhatRuntimeEnvironment): Promise<bigint> {
  const poolId = parseId(args.pool, "--pool");
  const amount = parsePha(args.amount ?? "", "--amount");
  const { net } = await taskNetwork(hre, args);
  await postBond(net, poolId, amount);
  const bond = await net.stakingHub.bondOf(poolId);
  console.log(`Posted ${formatPha(amount)} to pool ${poolId}'s operator bond; it now holds ${formatPha(bond)} (slashed before any staker)`);
  return bond;
}
