import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { setTimeout as sleep } from "node:timers/promises";

/**
 * What can go wrong with one HTTP request to a JSON-RPC endpoint (a JSON-RPC batch is one request):
 * - http500: the gateway answers 500 and the node never sees the call;
 * - rpcError: the node answers a JSON-RPC error (-32603) for every call, without acting on them;
 * - hang: nothing for `hangMs` (5-30 s), then the call reaches the node (a client timing out first
 *   does not know it did: a transaction may arrive late);
 * - drop: the connection is closed before the call is forwarded;
 * - lostAnswer: the call is forwarded and acted on, then the connection is closed (the nastiest for
 *   eth_sendRawTransaction: sent, but the sender sees an error);
 * - blackhole (rules only): never forwarded, never answered.
 */
export type Fault = "http500" | "rpcError" | "hang" | "drop" | "lostAnswer" | "blackhole";

export interface FaultPlan {
  /** Fraction of requests that fail. */
  rate: number;
  /** Relative weight of each fault kind (default: all equal). */
  weights?: Partial<Record<RandomFault, number>>;
  hangMs?: readonly [number, number];
  /**
   * Fraction of requests served as by a node `lag.blocks` behind the head (clamped logs, missing
   * blocks); `logsOnly`: only eth_getLogs lags (a provider whose log index trails its nodes).
   */
  lag?: { rate: number; blocks: number; logsOnly?: boolean };
  seed?: number;
}

interface Call {
  jsonrpc: string;
  id: number | string;
  method: string;
  params?: unknown[];
}

/** Decides a fault for one request by method (tests: e.g. hold every eth_sendRawTransaction). */
export type FaultRule = (calls: readonly Call[]) => Fault | undefined;

const FAULTS = ["http500", "rpcError", "hang", "drop", "lostAnswer"] as const satisfies readonly Fault[];
/** Faults drawn at random (not blackhole, which only a rule asks for). */
type RandomFault = (typeof FAULTS)[number];
const HEAD_REFRESH_MS = 200;

/**
 * A JSON-RPC proxy that injects an operator's bad day between the bridge and its node: gateway
 * errors, JSON-RPC errors, hangs, dropped connections, lost answers and a lagging backend, drawn
 * from a seeded generator so a run can be repeated. Counts what it did in `stats`.
 */
export class FaultProxy {
  private server?: Server;
  private seed: number;
  private head = 0;
  private headAt = 0;
  rule?: FaultRule;
  readonly stats: Record<Fault | "forwarded" | "lagged", number> = {
    http500: 0,
    rpcError: 0,
    hang: 0,
    drop: 0,
    lostAnswer: 0,
    blackhole: 0,
    forwarded: 0,
    lagged: 0,
  };
  url = "";

  constructor(
    private readonly target: string,
    public plan: FaultPlan = { rate: 0 },
  ) {
    this.seed = plan.seed ?? 42;
  }

  /** Deterministic pseudo-random in [0, 1) (mulberry32). */
  private random(): number {
    let t = (this.seed += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  private pickFault(): RandomFault {
    const weights = FAULTS.map((f) => this.plan.weights?.[f] ?? 1);
    let roll = this.random() * weights.reduce((a, b) => a + b, 0);
    for (let i = 0; i < FAULTS.length; i++) if ((roll -= weights[i]!) < 0) return FAULTS[i]!;
    return FAULTS[0]!;
  }

  private async forward(body: string): Promise<string> {
    const upstream = await fetch(this.target, { method: "POST", headers: { "content-type": "application/json" }, body });
    this.stats.forwarded++;
    return upstream.text();
  }

  private async realHead(): Promise<number> {
    if (Date.now() - this.headAt > HEAD_REFRESH_MS) {
      const answer = JSON.parse(await this.forward(JSON.stringify({ jsonrpc: "2.0", id: 0, method: "eth_blockNumber", params: [] }))) as { result: string };
      this.head = Number(answer.result);
      this.headAt = Date.now();
    }
    return this.head;
  }

  /** The calls as a node `blocks` behind would answer them: its head, its logs, its blocks. */
  private async lagged(calls: Call[], blocks: number, logsOnly: boolean): Promise<{ calls: Call[]; missing: Set<number | string>; head: number }> {
    const head = Math.max(0, (await this.realHead()) - blocks);
    const hex = `0x${head.toString(16)}`;
    const missing = new Set<number | string>();
    const rewritten = calls.map((call) => {
      const params = call.params ?? [];
      if (logsOnly && call.method !== "eth_getLogs") return call;
      if (call.method === "eth_blockNumber") return { ...call, method: "eth_getBlockByNumber", params: [hex, false], lagHead: true };
      if (call.method === "eth_getBlockByNumber") {
        const tag = params[0];
        if (tag === "latest" || tag === "pending") return { ...call, params: [hex, ...params.slice(1)] };
        if (typeof tag === "string" && Number(tag) > head) missing.add(call.id);
      }
      if (call.method === "eth_getLogs") {
        const filter = { ...(params[0] as Record<string, unknown>) };
        // A lagging node answers what it has: the range is silently clamped to its head.
        if (filter.toBlock === "latest" || (typeof filter.toBlock === "string" && Number(filter.toBlock) > head)) filter.toBlock = hex;
        if (typeof filter.fromBlock === "string" && Number(filter.fromBlock) > head) missing.add(call.id);
        return { ...call, params: [filter] };
      }
      return call;
    });
    return { calls: rewritten, missing, head };
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString("utf8");
    const parsed = JSON.parse(body) as Call | Call[];
    const calls = Array.isArray(parsed) ? parsed : [parsed];
    const fault = this.rule?.(calls) ?? (this.random() < this.plan.rate ? this.pickFault() : undefined);
    if (fault) this.stats[fault]++;
    const reply = (status: number, text: string) => {
      if (!res.destroyed) res.writeHead(status, { "content-type": "application/json" }).end(text);
    };
    switch (fault) {
      case "http500":
        return reply(500, "injected gateway failure");
      case "rpcError": {
        const errors = calls.map((c) => ({ jsonrpc: "2.0", id: c.id, error: { code: -32603, message: "internal error (injected)" } }));
        return reply(200, JSON.stringify(Array.isArray(parsed) ? errors : errors[0]));
      }
      case "drop":
        res.socket?.destroy();
        return;
      case "blackhole":
        return;
      case "hang": {
        const [min, max] = this.plan.hangMs ?? [5_000, 30_000];
        await sleep(min + this.random() * (max - min));
        break;
      }
    }
    let forwardCalls = calls;
    let missing = new Set<number | string>();
    let lagHead: number | undefined;
    if (this.plan.lag && this.random() < this.plan.lag.rate) {
      this.stats.lagged++;
      ({ calls: forwardCalls, missing, head: lagHead } = await this.lagged(calls, this.plan.lag.blocks, this.plan.lag.logsOnly ?? false));
    }
    let text = await this.forward(JSON.stringify(Array.isArray(parsed) ? forwardCalls : forwardCalls[0]));
    if (fault === "lostAnswer") {
      res.socket?.destroy();
      return;
    }
    if (lagHead !== undefined) {
      const answers = JSON.parse(text) as { id: number | string; result?: unknown }[] | { id: number | string; result?: unknown };
      const fix = (answer: { id: number | string; result?: unknown }) => {
        const call = forwardCalls.find((c) => c.id === answer.id) as (Call & { lagHead?: boolean }) | undefined;
        if (call?.lagHead) return { ...answer, result: `0x${lagHead.toString(16)}` };
        return missing.has(answer.id) ? { ...answer, result: call?.method === "eth_getLogs" ? [] : null } : answer;
      };
      text = JSON.stringify(Array.isArray(answers) ? answers.map(fix) : fix(answers));
    }
    reply(200, text);
  }

  async listen(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.destroyed) res.writeHead(502).end("upstream unreachable");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(port, "127.0.0.1", () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this.url;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
