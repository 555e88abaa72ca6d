import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "pino";
import { ExecuteRequest } from "../../protocol/worker-api.js";
import { EnclaveError, RequestRejected } from "./errors.js";
import type { WorkerMetrics } from "./metrics.js";
import type { WorkerService } from "./service.js";

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
  }
}

/**
 * The JSON API of protocol/worker-api.ts:
 *   GET /health, GET /attestation, POST /v1/execute, GET /metrics.
 * Error bodies are { error: CODE, message, simulated }.
 */
export class WorkerHttpServer {
  readonly #server: Server;

  constructor(
    private readonly service: WorkerService,
    private readonly metrics: WorkerMetrics,
    private readonly logger: Logger,
    private readonly maxBodyBytes: number,
  ) {
    this.#server = createServer((req, res) => void this.#handle(req, res));
  }

  listen(port: number, host: string): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      this.#server.once("error", reject);
      this.#server.listen(port, host, () => resolve(this.#server.address() as AddressInfo));
    });
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      this.#server.close(() => resolve());
      this.#server.closeAllConnections();
    });
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const simulated = this.service.simulated;
    try {
      const path = new URL(req.url ?? "/", "http://worker").pathname;
      const route = `${req.method} ${path}`;
      switch (route) {
        case "GET /health": {
          // 503 while the chain cannot be read: a worker that cannot check commitments cannot answer.
          const health = await this.service.health();
          return send(res, health.ok ? 200 : 503, health);
        }
        case "GET /attestation":
          return send(res, 200, await this.service.attestation());
        case "POST /v1/execute": {
          const parsed = ExecuteRequest.safeParse(await this.#readJson(req));
          if (!parsed.success) throw new HttpError(400, "INVALID_REQUEST", "request does not match ExecuteRequest", parsed.error.issues);
          return send(res, 200, await this.service.execute(parsed.data));
        }
        case "GET /metrics": {
          res.writeHead(200, { "content-type": this.metrics.registry.contentType });
          res.end(await this.metrics.registry.metrics());
          return;
        }
        default:
          throw new HttpError(404, "NOT_FOUND", `no route ${route}`);
      }
    } catch (error) {
      if (error instanceof HttpError) {
        return send(res, error.status, { error: error.code, message: error.message, details: error.details, simulated });
      }
      if (error instanceof EnclaveError) {
        this.logger.error({ err: error }, "enclave unavailable");
        return send(res, 503, { error: "ENCLAVE_UNAVAILABLE", message: error.message, simulated });
      }
      if (error instanceof RequestRejected) {
        return send(res, error.httpStatus, { error: error.code, message: error.message, simulated });
      }
      this.logger.error({ err: error, url: req.url }, "request failed");
      return send(res, 500, { error: "INTERNAL", message: "internal worker error", simulated });
    }
  }

  async #readJson(req: IncomingMessage): Promise<unknown> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).byteLength;
      if (size > this.maxBodyBytes) throw new HttpError(413, "BODY_TOO_LARGE", `body exceeds ${this.maxBodyBytes} bytes`);
      chunks.push(chunk as Buffer);
    }
    try {
      return JSON.parse(Buffer.concat(chunks).toString("utf8"));
    } catch {
      throw new HttpError(400, "INVALID_JSON", "body is not JSON");
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  res.end(text);
}
