import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { secp256k1 } from "@noble/curves/secp256k1";
import { Wallet, hexlify, keccak256, toUtf8Bytes, toUtf8String } from "ethers";
import { uintWord } from "../../protocol/abi-words.js";
import { FulfillmentDigester, routerDomain } from "../../protocol/fulfillment.js";
import { requestHash, toAgentRequest } from "../../protocol/request.js";
import { AgentStatus } from "../../protocol/status.js";
import { ExecuteRequest, type ExecuteResponse } from "../../protocol/worker-api.js";

export interface FakeWorkerOptions {
  /** Enclave key the answers are signed with. */
  key: string;
  /** Sign with this key instead (a misbehaving or misconfigured replica). */
  signWith?: string;
  delayMs?: number;
  /** Answer HTTP 503 to every execute call while true. */
  down?: boolean;
  /** Pad every output to this many bytes (non-zero filler): a worker whose agent returns large results. */
  outputBytes?: number;
  /** Accept execute calls and never answer (a hung worker). */
  hang?: boolean;
  /** Refuse every execute call with this HTTP status and worker error code. */
  refuse?: { status: number; code: string };
}

/**
 * A stand-in for the TEE worker's HTTP API (protocol/worker-api.ts) for tests and benchmarks:
 * the "agent" echoes its input; answers are signed EIP-712 Fulfillments with `worker` = its own
 * address (as a backup too: it trusts the bridge to ask only once the window is open, where the real
 * worker checks the router). Simulated, and says so.
 */
export class FakeWorker {
  readonly address: string;
  private server?: Server;
  executed = 0;
  /** Answers to backup dispatches (`backupRank` set), by request id: the ranks asked. */
  readonly asBackup = new Map<string, string>();
  /** Execute calls received, answered or not. */
  received = 0;
  url = "";

  constructor(public options: FakeWorkerOptions) {
    this.address = new Wallet(options.key).address;
  }

  private readonly digesters = new Map<string, FulfillmentDigester>();

  private digester(chainId: bigint, router: string): FulfillmentDigester {
    const key = `${chainId}:${router}`;
    let digester = this.digesters.get(key);
    if (!digester) this.digesters.set(key, (digester = new FulfillmentDigester(routerDomain(chainId, router))));
    return digester;
  }

  private sign(digest: Uint8Array): string {
    const key = Buffer.from((this.options.signWith ?? this.options.key).slice(2), "hex");
    const { r, s, recovery } = secp256k1.sign(digest, key, { lowS: true });
    return `0x${uintWord(r)}${uintWord(s)}${(27 + recovery).toString(16)}`;
  }

  async answer(body: ExecuteRequest): Promise<ExecuteResponse> {
    const request = toAgentRequest(body.request);
    const echo = toUtf8Bytes(`echo:${toUtf8String(body.input)}`);
    const output = hexlify(this.options.outputBytes ? Buffer.concat([echo, Buffer.alloc(Math.max(0, this.options.outputBytes - echo.length), "x")]) : echo);
    const message = {
      requestId: request.id,
      requestHash: requestHash(request),
      outputHash: keccak256(output),
      status: AgentStatus.OK,
      subAgentIds: [] as bigint[],
      subAgentPrices: [] as bigint[],
      worker: this.address,
    };
    const signature = this.sign(this.digester(BigInt(body.chainId), body.router).digest(message));
    return {
      simulated: true,
      worker: this.address,
      requestId: request.id.toString(),
      requestHash: message.requestHash,
      status: message.status,
      statusName: "OK",
      output,
      outputHash: message.outputHash,
      subAgentIds: [],
      subAgentPrices: [],
      signature,
    };
  }

  async listen(port = 0): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const reply = (code: number, value: unknown) => {
          res.writeHead(code, { "content-type": "application/json" });
          res.end(JSON.stringify(value));
        };
        if (req.url === "/health") return reply(200, { ok: !this.options.down, simulated: true, worker: this.address });
        if (req.method !== "POST" || req.url !== "/v1/execute") return reply(404, { error: "not found" });
        this.received++;
        if (this.options.down) return reply(503, { error: "worker down" });
        if (this.options.hang) return;
        if (this.options.refuse) return reply(this.options.refuse.status, { error: this.options.refuse.code, message: "refused (fake worker)" });
        const parsed = ExecuteRequest.safeParse(JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"));
        if (!parsed.success) return reply(400, { error: parsed.error.message });
        const run = async () => {
          if (this.options.delayMs) await new Promise((r) => setTimeout(r, this.options.delayMs));
          this.executed++;
          if (parsed.data.backupRank !== undefined) this.asBackup.set(parsed.data.request.id, parsed.data.backupRank);
          reply(200, await this.answer(parsed.data));
        };
        run().catch((error: Error) => reply(500, { error: error.message }));
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
