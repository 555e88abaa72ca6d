import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { addConsumer } from "../billing.js";
import { parseAddress, parseId, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  account?: string;
  consumer?: string;
}

export default async function accountAddConsumer(args: Args, hre: HardhatRuntimeEnvironment): Promise<void> {
  const accountId = parseId(args.account, "--account");
  const consumer = parseAddress(args.consumer, "--consumer");
  const { net } = await taskNetwork(hre, args);
  await addConsumer(net, accountId, consumer);
  console.log(`${consumer} may now send requests paid by billing account ${accountId}`);
}
