import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { delegateVotes, formatVotes, votingPower } from "../governance.js";
import { parseAddress, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  to?: string;
}

export default async function govDelegate(args: Args, hre: HardhatRuntimeEnvironment): Promise<bigint> {
  const { net, signerAddress } = await taskNetwork(hre, args);
  const delegatee = args.to === undefined ? signerAddress : parseAddress(args.to, "--to");
  await delegateVotes(net, delegatee);
  const power = await votingPower(net, delegatee);
  console.log(`${signerAddress} delegated its PHA votes and staked-PHA votes to ${delegatee === signerAddress ? "itself" : delegatee}`);
  console.log(
    `  ${delegatee} now has ${formatVotes(power.total)} (PHA ${formatVotes(power.pha)}, staked PHA ${formatVotes(power.staked)}); they count in proposals whose snapshot is later than now`,
  );
  return power.total;
}
