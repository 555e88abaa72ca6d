/**
 * The benchmark's load, in its own process so it does not share the bridge's event loop:
 * sends BatchRequester.requestMany(prefix, PER_TX) at a steady rate, then prints a JSON summary.
 * Env: LOAD_RPC_URL, LOAD_REQUESTER, LOAD_KEY, LOAD_RATE (requests/s), LOAD_SECONDS, LOAD_PER_TX.
 */
import { setTimeout as sleep } from "node:timers/promises";
import { Contract, JsonRpcProvider, NonceManager, Wallet } from "ethers";

const env = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is required`);
  return value;
};
const rate = Number(env("LOAD_RATE"));
const seconds = Number(env("LOAD_SECONDS"));
const perTx = Number(env("LOAD_PER_TX"));
const REQUEST_MANY_GAS = 30_000_000;

const provider = new JsonRpcProvider(env("LOAD_RPC_URL"), undefined, { staticNetwork: true, batchMaxCount: 1 });
const signer = new NonceManager(new Wallet(env("LOAD_KEY"), provider));
const requester = new Contract(env("LOAD_REQUESTER"), ["function requestMany(string prefix, uint256 count)"], signer);

const txs = Math.round((rate * seconds) / perTx);
const interval = 1000 / (rate / perTx);
const started = Date.now();
const sends: Promise<unknown>[] = [];
for (let i = 0; i < txs; i++) {
  const due = started + i * interval;
  if (due > Date.now()) await sleep(due - Date.now());
  sends.push(requester.getFunction("requestMany")(`b${i}-`, perTx, { gasLimit: REQUEST_MANY_GAS }));
}
await Promise.all(sends);
process.stdout.write(`${JSON.stringify({ requests: txs * perTx, seconds: (Date.now() - started) / 1000 })}\n`);
provider.destroy();
