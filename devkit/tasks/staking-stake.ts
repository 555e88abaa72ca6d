import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { stake } from "../workers.js";
import { formatPha, parseId, parsePha, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  pool?: string;
  amount?: string;
}

export default async function stakingStake(args: Args, hre: HardhatRuntimeEnvironment): Promise<bigint> {
  const poolId = parseId(args.pool, "--pool");
  const amount = parsePha(args.amount ?? "", "--amount");
  const { net, signerAddress } = await taskNetwork(hre, args);
  await stake(net, poolId, amount);
  const position = await net.stakingHub.stakeOf(poolId, signerAddress);
  console.log(`Staked ${formatPha(amount)} in pool ${poolId}; ${signerAddress} now holds ${formatPha(position)} there`);
  return position;
}
