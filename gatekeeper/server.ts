import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { timingSafeEqual } from "node:crypto";
import { getAddress } from "ethers";
import type { Logger } from "pino";
import { Counter, Registry } from "prom-client";
import { AttestRequest, RotationSignRequest } from "./api.js";
import type { AttestationService } from "./attestation-service.js";
import { BadRequestError, GatekeeperError, UnauthorizedError } from "./errors.js";
import type { RotationCoordinator, RotationSigner } from "./rotation.js";

const MAX_BODY_BYTES = 1 << 20;

export interface GatekeeperServerOptions {
  gatekeeper: string;
  chainId: bigint;
  keyRegistry: string;
  attestation: AttestationService;
  rotationSigner: RotationSigner;
  coordinator?: RotationCoordinator;
  adminToken?: string;
  logger: Logger;
}

/** The gatekeeper's HTTP API (see api.ts). Each instance has its own metrics registry. */
export class GatekeeperServer {
  readonly metrics = new Registry();
  private readonly server: Server;
  private readonly attestations = new Counter({
    name: "gatekeeper_attestations_total",
    help: "Attestation requests by result",
    labelNames: ["result"],
    registers: [this.metrics],
  });
  private readonly rotations = new Counter({
    name: "gatekeeper_rotation_signatures_total",
    help: "Rotation signature requests by result",
    labelNames: ["result"],
    registers: [this.metrics],
  });

  constructor(private readonly options: GatekeeperServerOptions) {
    this.server = createServer((req, res) => void this.handle(req, res));
  }

  async listen(port = 0, host = "127.0.0.1"): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(port, host, resolve));
    const { port: bound } = this.server.address() as AddressInfo;
    return `http://${host}:${bound}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve, reject) => this.server.close((e) => (e ? reject(e) : resolve())));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const o = this.options;
    const route = `${req.method} ${new URL(req.url ?? "/", "http://x").pathname}`;
    try {
      switch (route) {
        case "GET /health":
          return send(res, 200, { ok: true, gatekeeper: o.gatekeeper, chainId: o.chainId.toString() });
        case "GET /metrics":
          res.writeHead(200, { "content-type": this.metrics.contentType });
          res.end(await this.metrics.metrics());
          return;
        case "POST /v1/attest": {
          const request = parse(AttestRequest, await readJson(req));
          try {
            const response = await o.attestation.attest(request);
            this.attestations.inc({ result: "signed" });
            return send(res, 200, response);
          } catch (error) {
            this.attestations.inc({ result: error instanceof GatekeeperError ? "refused" : "error" });
            throw error;
          }
        }
        case "POST /v1/rotation/sign": {
          const request = parse(RotationSignRequest, await readJson(req));
          if (request.chainId !== o.chainId || getAddress(request.keyRegistry) !== getAddress(o.keyRegistry)) {
            throw new BadRequestError("wrong chain or KeyRegistry for this gatekeeper");
          }
          try {
            const signed = await o.rotationSigner.signRotation(request);
            this.rotations.inc({ result: "signed" });
            return send(res, 200, signed);
          } catch (error) {
            this.rotations.inc({ result: "refused" });
            throw error;
          }
        }
        case "POST /v1/rotation": {
          this.authorize(req);
          if (!o.coordinator) throw new GatekeeperError("rotation is not configured on this gatekeeper", 501);
          return send(res, 200, await o.coordinator.rotateNow());
        }
        default:
          return send(res, 404, { error: `no route ${route}` });
      }
    } catch (error) {
      if (error instanceof GatekeeperError) return send(res, error.status, { error: error.message, kind: error.name });
      o.logger.error({ route, err: (error as Error).message }, "request failed");
      return send(res, 500, { error: "internal error" });
    }
  }

  private authorize(req: IncomingMessage): void {
    const token = this.options.adminToken;
    const given = req.headers.authorization?.replace(/^Bearer /, "") ?? "";
    if (!token || given.length !== token.length || !timingSafeEqual(Buffer.from(given), Buffer.from(token))) {
      throw new UnauthorizedError();
    }
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v)));
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new BadRequestError("request body too large");
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new BadRequestError("body is not JSON");
  }
}

function parse<T>(
  schema: { safeParse(v: unknown): { success: true; data: T } | { success: false; error: { issues: { path: (string | number)[]; message: string }[] } } },
  value: unknown,
): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    throw new BadRequestError(result.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
  }
  return result.data;
}
