import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { addPoolWorker } from "../workers.js";
import { parseAddress, parseId, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  pool?: string;
  worker?: string;
}

export default async function stakingAddWorker(args: Args, hre: HardhatRuntimeEnvironment): Promise<boolean> {
  const poolId = parseId(args.pool, "--pool");
  const worker = parseAddress(args.worker, "--worker");
  const { net } = await taskNetwork(hre, args);
  await addPoolWorker(net, poolId, worker);
  const eligible = await net.stakingHub.isEligible(worker);
  console.log(
    `Worker ${worker} joined pool ${poolId}; ${eligible ? "it is eligible for requests" : "NOT yet eligible: the pool needs more stake per worker, or the attestation expired"}`,
  );
  return eligible;
}
