import { Transaction } from "ethers";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import type { BlockHeader, Fulfillment, TxReceipt, TxRequest } from "../../bridge/src/chain/chain-client.js";
import { Eip1559Signer } from "../../bridge/src/chain/eip1559-signer.js";
import { RpcError, SimulationError } from "../../bridge/src/errors.js";
import type { AgentRequest } from "../../protocol/request.js";
import type { Hex } from "../../protocol/hex.js";
import type { ExecuteResponse } from "../../protocol/worker-api.js";

const KEY = `0x${"42".repeat(32)}`;

/** A node's rejection of eth_sendRawTransaction as anvil words it (-32003), or a lost answer. */
/** A worker answer as the store keeps it; tests override the fields they care about. */
export const ANSWER: ExecuteResponse = {
  simulated: true,
  worker: "0x0000000000000000000000000000000000000001",
  requestId: "1",
  requestHash: `0x${"11".repeat(32)}`,
  status: 0,
  statusName: "OK",
  output: "0x",
  outputHash: `0x${"22".repeat(32)}`,
  subAgentIds: [],
  subAgentPrices: [],
  signature: "0x",
};

export function refusal(message: string, rpcCode = -32003): RpcError {
  return new RpcError("eth_sendRawTransaction", { transport: false, rpcCode }, { details: message });
}
export const lostAnswer = () => new RpcError("eth_sendRawTransaction", { transport: true }, { details: "no answer within 10000 ms" });

/**
 * The transaction side of a node for transaction-manager tests: a pool, the account's mined nonce,
 * receipts, and scripted answers to eth_sendRawTransaction. Signs for real (Eip1559Signer).
 */
export class FakeTxChain extends SyntheticChain {
  private readonly signer = new Eip1559Signer(KEY, 31337n);
  mined = 0;
  readonly pool = new Map<Hex, Transaction>();
  readonly minedReceipts = new Map<Hex, TxReceipt>();
  /** Every raw transaction offered, accepted or not. */
  readonly offered: Transaction[] = [];
  /** Answers for the next broadcasts (undefined = accept). */
  readonly script: (RpcError | undefined)[] = [];
  /** Answer for every broadcast once `script` is empty. */
  always?: () => RpcError | undefined;
  /** Accept broadcasts but keep nothing (a node that drops what it cannot mine, e.g. below the calldata floor). */
  dropAll = false;
  fee = { maxFeePerGas: 100n, maxPriorityFeePerGas: 10n };

  /** Seconds added to every block's timestamp (moves chain time past deadlines). */
  clock = 0n;
  /** Request ids whose fulfilment or timeout reverts in simulation. */
  readonly reverting = new Set<bigint>();
  /** Throws this from the next fees() call (an RPC failure before a send). */
  failFees?: Error;
  /** Throws this from the next simulate() call. */
  failSimulate?: Error;

  /** Calldata that lists the batch's request ids (one word each), so scripts can tell batches apart. */
  override encodeFulfillBatch(fulfillments: Fulfillment[]): Hex {
    return FakeTxChain.ids(fulfillments.map((f) => f.request.id));
  }

  override encodeTimeoutBatch(requests: AgentRequest[]): Hex {
    return FakeTxChain.ids(requests.map((r) => r.id));
  }

  /** Request ids encoded with fulfillAsBackup (rank by id); their calldata lists the id like a batch of one. */
  readonly backupEncoded = new Map<bigint, number>();
  /** The revert (custom error name) of a backup answer's estimate, by request id. */
  readonly backupReverts = new Map<bigint, string>();
  /** What eth_estimateGas answers for a backup answer. */
  backupEstimate = 400_000n;

  override encodeFulfillAsBackup(fulfillment: Fulfillment, rank: number): Hex {
    this.backupEncoded.set(fulfillment.request.id, rank);
    return FakeTxChain.ids([fulfillment.request.id]);
  }

  override async estimateGas(data: Hex): Promise<bigint> {
    const id = FakeTxChain.decodeIds(data)[0]!;
    const name = this.backupReverts.get(id);
    if (name !== undefined) throw new SimulationError("eth_estimateGas", { data: "0x", name, reason: `${name}(${id})` });
    return this.backupEstimate;
  }

  private static ids(ids: bigint[]): Hex {
    return `0x${ids.map((id) => id.toString(16).padStart(64, "0")).join("")}`;
  }

  static decodeIds(data: string): bigint[] {
    return (data.slice(2).match(/.{64}/g) ?? []).map((word) => BigInt(`0x${word}`));
  }

  override async block(number: number | "latest"): Promise<BlockHeader | undefined> {
    const block = await super.block(number);
    return block && { ...block, timestamp: block.timestamp + this.clock };
  }

  override async simulate(data: Hex): Promise<void> {
    const failure = this.failSimulate;
    this.failSimulate = undefined;
    if (failure) throw failure;
    const culprit = FakeTxChain.decodeIds(data).find((id) => this.reverting.has(id));
    if (culprit !== undefined) throw new SimulationError("eth_call", { data: "0x", name: "DeadlineNotPassed", reason: `DeadlineNotPassed(${culprit})` });
  }

  override async isPending(requestIds: bigint[]): Promise<(boolean | Error)[]> {
    return requestIds.map(() => true);
  }

  override async fees() {
    const failure = this.failFees;
    this.failFees = undefined;
    if (failure) throw failure;
    return { ...this.fee };
  }

  override async nonce(tag: "latest" | "pending" = "latest"): Promise<number> {
    if (tag === "latest") return this.mined;
    let next = this.mined;
    for (const tx of this.pool.values()) next = Math.max(next, tx.nonce + 1);
    return next;
  }

  override async sign(tx: TxRequest): Promise<{ hash: Hex; raw: Hex }> {
    return this.signer.sign(tx);
  }

  override async broadcast(raw: Hex): Promise<void> {
    const tx = Transaction.from(raw);
    this.offered.push(tx);
    const answer = this.script.length > 0 ? this.script.shift() : this.always?.();
    if (answer) {
      // A lost answer may hide an acceptance: like a real node, keep the transaction.
      if (answer.transport) this.pool.set(tx.hash as Hex, tx);
      throw answer;
    }
    if (tx.nonce < this.mined) throw refusal("nonce too low");
    if (!this.dropAll) this.pool.set(tx.hash as Hex, tx);
  }

  override async transactionKnown(hash: Hex): Promise<boolean> {
    return this.pool.has(hash) || this.minedReceipts.has(hash);
  }

  /** Mines the pooled transaction `hash` (and so its nonce). */
  mineTx(hash: Hex, options: { success?: boolean; settled?: bigint[] } = {}): void {
    const tx = this.pool.get(hash);
    if (!tx) throw new Error(`not in the pool: ${hash}`);
    this.mined = Math.max(this.mined, tx.nonce + 1);
    for (const [other, pooled] of this.pool) if (pooled.nonce === tx.nonce) this.pool.delete(other);
    this.minedReceipts.set(hash, {
      hash,
      success: options.success ?? true,
      blockNumber: 100 + tx.nonce,
      gasUsed: 50_000n,
      effectiveGasPrice: 7n,
      settlements: (options.settled ?? []).map((requestId) => ({
        requestId,
        outcome: "fulfilled" as const,
        block: { number: 100 + tx.nonce, hash: `0x${"bb".repeat(32)}` },
        txHash: hash,
        fee: 1n,
        refund: 2n,
      })),
      skipped: [],
    });
  }

  override async receipt(hash: Hex): Promise<TxReceipt | undefined> {
    return this.minedReceipts.get(hash);
  }
}
