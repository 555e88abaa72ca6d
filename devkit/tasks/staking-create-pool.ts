import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { DevkitError } from "../errors.js";
import { createPool } from "../workers.js";
import { formatPha, networkFlag, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  commission: number;
}

export default async function stakingCreatePool(args: Args, hre: HardhatRuntimeEnvironment): Promise<bigint> {
  if (!Number.isInteger(args.commission) || args.commission < 0 || args.commission > 10_000) {
    throw new DevkitError(`--commission is in basis points, 0 to 10000, not ${args.commission}`);
  }
  const { net, connection, signerAddress } = await taskNetwork(hre, args);
  const poolId = await createPool(net, args.commission);
  const { minStakePerWorker, minBondPerWorker } = await net.stakingHub.params();
  console.log(`Opened staking pool ${poolId}, operated by ${signerAddress}, commission ${args.commission / 100}%`);
  console.log(
    `Each worker in it needs ${minStakePerWorker / 10n ** 18n} PHA of stake: npx hardhat staking:stake --pool ${poolId} --amount <PHA>${networkFlag(connection)}`,
  );
  console.log(
    `and ${formatPha(minBondPerWorker)} of operator bond (post a margin: a miss below it takes the pool out of the draw): npx hardhat staking:post-bond --pool ${poolId} --amount <PHA>${networkFlag(connection)}`,
  );
  return poolId;
}
