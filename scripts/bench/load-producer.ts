/**
 * The benchmark's load, in its own process so it does not share the bridge's event loop:
 * sends BatchRequester.requestMany(prefix, PER_TX) at a steady rate, then waits for every send's
 * receipt and prints a JSON summary of what landed: the requests the router opened (its
 * AgentRequested events), not what was offered. A send that reverts fails the run with the
 * router's reason (the call replayed at its block), so a benchmark never measures a load that
 * did not reach the chain.
 * Env: LOAD_RPC_URL, LOAD_REQUESTER, LOAD_ROUTER, LOAD_KEY, LOAD_RATE (requests/s), LOAD_SECONDS, LOAD_PER_TX.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Contract, JsonRpcProvider, NonceManager, Wallet, isCallException, type TransactionReceipt } from "ethers";
import { decodeRevert, routerInterface } from "../../bridge/src/chain/contracts.js";
import type { Hex } from "../../protocol/hex.js";

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const rate = Number(env("LOAD_RATE"));
const seconds = Number(env("LOAD_SECONDS"));
const perTx = Number(env("LOAD_PER_TX"));
const router = env("LOAD_ROUTER").toLowerCase();
/** Gas limit per send: the estimate of the first batch with this margin (later ids have more digits). */
const GAS_MARGIN_PERCENT = 30n;
const RECEIPT_TIMEOUT_MS = 120_000;

const provider = new JsonRpcProvider(env("LOAD_RPC_URL"), undefined, { staticNetwork: true, batchMaxCount: 1 });
const signer = new NonceManager(new Wallet(env("LOAD_KEY"), provider));
const requester = new Contract(env("LOAD_REQUESTER"), ["function requestMany(string prefix, uint256 count)"], signer);
const requested = routerInterface.getEvent("AgentRequested")!.topicHash;

/**
 * Why a mined send reverted: the same call replayed at its block (the router's state the block
 * left, which refuses it for the same reason unless that reason went away within the block).
 */
async function revertReason(receipt: TransactionReceipt): Promise<string> {
  const tx = await provider.getTransaction(receipt.hash);
  try {
    await provider.call({ from: tx!.from, to: tx!.to, data: tx!.data, gasLimit: tx!.gasLimit, blockTag: receipt.blockNumber });
    return `reverted in block ${receipt.blockNumber} (passes when replayed at the block's end: out of gas, or a limit the block itself filled)`;
  } catch (error) {
    const data = isCallException(error) ? (error.data as Hex | null) : null;
    return `reverted in block ${receipt.blockNumber}: ${data ? decodeRevert(data).reason : String(error)}`;
  }
}

async function receiptOf(hash: string): Promise<TransactionReceipt> {
  const started = Date.now();
  for (;;) {
    const receipt = await provider.getTransactionReceipt(hash);
    if (receipt) return receipt;
    if (Date.now() - started > RECEIPT_TIMEOUT_MS) throw new Error(`load-producer: send ${hash} not mined within ${RECEIPT_TIMEOUT_MS} ms`);
    await sleep(100);
  }
}

const requestMany = requester.getFunction("requestMany");
const gasLimit = ((await requestMany.estimateGas("b0-", perTx)) * (100n + GAS_MARGIN_PERCENT)) / 100n;
const txs = Math.round((rate * seconds) / perTx);
const interval = 1000 / (rate / perTx);
const started = Date.now();
const sends: Promise<{ hash: string }>[] = [];
for (let i = 0; i < txs; i++) {
  const due = started + i * interval;
  if (due > Date.now()) await sleep(due - Date.now());
  sends.push(requestMany(`b${i}-`, perTx, { gasLimit }) as Promise<{ hash: string }>);
}
const sent = await Promise.all(sends);
const sentSeconds = (Date.now() - started) / 1000;
const receipts = await Promise.all(sent.map((tx) => receiptOf(tx.hash)));
const reverted = receipts.filter((r) => r.status !== 1);
if (reverted.length > 0) {
  const reasons = await Promise.all(reverted.slice(0, 3).map(revertReason));
  process.stderr.write(
    `load-producer: ${reverted.length} of ${receipts.length} requestMany sends reverted, the offered load did not reach the chain:\n  ${reasons.join("\n  ")}\n`,
  );
  process.exit(1);
}
const landed = receipts.reduce((sum, r) => sum + r.logs.filter((l) => l.address.toLowerCase() === router && l.topics[0] === requested).length, 0);
process.stdout.write(
  `${JSON.stringify({ offered: txs * perTx, requests: landed, seconds: sentSeconds, firstBlock: receipts[0]?.blockNumber, lastBlock: receipts.at(-1)?.blockNumber })}\n`,
);
provider.destroy();
