import { allowPha, type AgentNetwork } from "./contracts.js";
import { sendTx } from "./errors.js";
import { eventIn } from "./events.js";

/** Opens a billing account owned by the network's signer; returns its id. */
export async function createAccount(net: AgentNetwork): Promise<bigint> {
  const receipt = await sendTx("router.createAccount", () => net.router.createAccount());
  return eventIn(receipt, net.router, "AccountCreated").args.accountId as bigint;
}

/** Moves `amount` PHA wei from the signer into billing account `accountId` (approve + fund). */
export async function fundAccount(net: AgentNetwork, accountId: bigint, amount: bigint): Promise<void> {
  await allowPha(net, await net.router.getAddress(), amount);
  await sendTx(`router.fund(${accountId})`, () => net.router.fund(accountId, amount));
}

/** Lets `consumer` (a contract, or an EOA sending requests itself) spend billing account `accountId`. */
export async function addConsumer(net: AgentNetwork, accountId: bigint, consumer: string): Promise<void> {
  if (await net.router.isConsumer(accountId, consumer)) return;
  await sendTx(`router.addConsumer(${accountId}, ${consumer})`, () => net.router.addConsumer(accountId, consumer));
}

/** Opens a billing account owned by the network's signer, lets `consumers` spend it, and funds it with `amount` PHA wei. */
export async function openFundedAccount(net: AgentNetwork, consumers: string[], amount: bigint): Promise<bigint> {
  const accountId = await createAccount(net);
  for (const consumer of consumers) await addConsumer(net, accountId, consumer);
  await fundAccount(net, accountId, amount);
  return accountId;
}
