import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { createAccount, fundAccount } from "../billing.js";
import { formatPha, networkFlag, parsePha, report, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  fund: string;
}

export default async function accountCreate(args: Args, hre: HardhatRuntimeEnvironment): Promise<bigint> {
  const amount = parsePha(args.fund, "--fund");
  const { net, connection, signerAddress } = await taskNetwork(hre, args);
  const accountId = await createAccount(net);
  if (amount > 0n) await fundAccount(net, accountId, amount);
  report(`Opened billing account ${accountId}`, [
    ["owner", signerAddress],
    ["balance", formatPha((await net.router.accountOf(accountId)).balance)],
  ]);
  const flag = networkFlag(connection);
  if (amount === 0n) console.log(`Next: npx hardhat account:fund --account ${accountId} --amount 100${flag}`);
  console.log(`Next: npx hardhat account:add-consumer --account ${accountId} --consumer <your contract>${flag}`);
  return accountId;
}
