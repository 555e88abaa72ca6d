import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import type { BridgeMetrics } from "./metrics.js";

export interface HealthSource {
  health(): Promise<{ ok: boolean }>;
  status(): Promise<unknown>;
}

/** GET /healthz (200 or 503), GET /metrics (Prometheus), GET /status (JSON). */
export class HealthServer {
  private server?: Server;

  constructor(
    private readonly source: HealthSource,
    private readonly metrics: BridgeMetrics,
  ) {}

  async listen(host: string, port: number): Promise<number> {
    const server = createServer((req, res) => {
      const send = (code: number, type: string, body: string) => {
        res.writeHead(code, { "content-type": type });
        res.end(body);
      };
      const json = (value: unknown) => JSON.stringify(value, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
      if (req.method !== "GET") return send(405, "text/plain", "method not allowed\n");
      // Both read the store: a store that does not answer makes the bridge unhealthy, not the server crash.
      const failed = (error: unknown) => send(503, "application/json", json({ ok: false, error: error instanceof Error ? error.message : String(error) }));
      if (req.url === "/healthz") {
        this.source
          .health()
          .then((health) => send(health.ok ? 200 : 503, "application/json", json(health)))
          .catch(failed);
        return;
      }
      if (req.url === "/status") {
        this.source
          .status()
          .then((status) => send(200, "application/json", json(status)))
          .catch(failed);
        return;
      }
      if (req.url === "/metrics") {
        this.metrics
          .render()
          .then((text) => send(200, this.metrics.registry.contentType, text))
          .catch((error: Error) => send(500, "text/plain", `${error.message}\n`));
        return;
      }
      send(404, "text/plain", "not found\n");
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, host, () => resolve());
    });
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
