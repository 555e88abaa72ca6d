import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { fundAccount } from "../billing.js";
import { formatPha, parseId, parsePha, report, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  account?: string;
  amount?: string;
}

export default async function accountFund(args: Args, hre: HardhatRuntimeEnvironment): Promise<bigint> {
  const accountId = parseId(args.account, "--account");
  const amount = parsePha(args.amount ?? "", "--amount");
  const { net, signerAddress } = await taskNetwork(hre, args);
  await fundAccount(net, accountId, amount);
  const account = await net.router.accountOf(accountId);
  report(`Funded billing account ${accountId} with ${formatPha(amount)} from ${signerAddress}`, [
    ["balance", formatPha(account.balance)],
    ["reserved", `${formatPha(account.reserved)} (by ${account.pendingRequests} pending requests)`],
  ]);
  return account.balance;
}
