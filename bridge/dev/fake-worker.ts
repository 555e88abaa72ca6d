import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { Wallet, hexlify, keccak256, toUtf8Bytes, toUtf8String } from "ethers";
import { FULFILLMENT_TYPES, routerDomain } from "../../protocol/fulfillment.js";
import { requestHash, toAgentRequest } from "../../protocol/request.js";
import { AgentStatus } from "../../protocol/status.js";
import { ExecuteRequest, type ExecuteResponse } from "../../protocol/worker-api.js";

const TYPES = { Fulfillment: [...FULFILLMENT_TYPES.Fulfillment] };

export interface FakeWorkerOptions {
  /** Enclave key the answers are signed with. */
  key: string;
  /** Sign with this key instead (a misbehaving or misconfigured replica). */
  signWith?: string;
  delayMs?: number;
  /** Answer HTTP 503 to every execute call while true. */
  down?: boolean;
}

/**
 * A stand-in for the TEE worker's HTTP API (protocol/worker-api.ts) for tests and benchmarks:
 * the "agent" echoes its input; answers are signed EIP-712 Fulfillments. Simulated, and says so.
 */
export class FakeWorker {
  readonly address: string;
  private server?: Server;
  executed = 0;
  url = "";

  constructor(public options: FakeWorkerOptions) {
    this.address = new Wallet(options.key).address;
  }

  async answer(body: ExecuteRequest): Promise<ExecuteResponse> {
    const request = toAgentRequest(body.request);
    const output = hexlify(toUtf8Bytes(`echo:${toUtf8String(body.input)}`));
    const message = {
      requestId: request.id,
      requestHash: requestHash(request),
      outputHash: keccak256(output),
      status: AgentStatus.OK,
      subAgentIds: [] as bigint[],
      worker: this.address,
    };
    const signer = new Wallet(this.options.signWith ?? this.options.key);
    const signature = await signer.signTypedData(routerDomain(BigInt(body.chainId), body.router), TYPES, message);
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
        if (this.options.down) return reply(503, { error: "worker down" });
        const parsed = ExecuteRequest.safeParse(JSON.parse(Buffer.concat(chunks).toString("utf8") || "null"));
        if (!parsed.success) return reply(400, { error: parsed.error.message });
        const run = async () => {
          if (this.options.delayMs) await new Promise((r) => setTimeout(r, this.options.delayMs));
          this.executed++;
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
