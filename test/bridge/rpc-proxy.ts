import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A JSON-RPC proxy on loopback that fails a fraction of calls: some are refused before reaching
 * the node, some are forwarded and then their answer is lost (the worst case for idempotency:
 * a transaction reached the node but the caller saw an error).
 */
export class FlakyRpcProxy {
  private server?: Server;
  private seed = 42;
  failed = 0;
  forwarded = 0;

  constructor(
    private readonly target: string,
    private readonly refuseRate: number,
    private readonly loseAnswerRate: number,
  ) {}

  /** Deterministic pseudo-random in [0, 1) (mulberry32) so runs are reproducible. */
  private random(): number {
    let t = (this.seed += 0x6d2b79f5);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  async listen(): Promise<string> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        const roll = this.random();
        if (roll < this.refuseRate) {
          this.failed++;
          res.writeHead(502).end("injected failure");
          return;
        }
        fetch(this.target, { method: "POST", headers: { "content-type": "application/json" }, body: Buffer.concat(chunks) })
          .then(async (upstream) => {
            const text = await upstream.text();
            this.forwarded++;
            if (roll < this.refuseRate + this.loseAnswerRate) {
              this.failed++;
              res.writeHead(502).end("injected lost answer");
              return;
            }
            res.writeHead(upstream.status, { "content-type": "application/json" }).end(text);
          })
          .catch(() => res.writeHead(502).end("upstream unreachable"));
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", () => resolve()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
