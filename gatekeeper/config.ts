import { readFileSync } from "node:fs";
import { z } from "zod";
import { TCB_STATUSES, NEVER_ACCEPTED, type TcbStatus } from "../attestation/tcb.js";

const address = z.string().regex(/^0x[0-9a-fA-F]{40}$/, "0x-prefixed 20-byte address");
const key32 = z.string().regex(/^0x[0-9a-fA-F]{64}$/, "0x-prefixed 32-byte hex");
const tcbStatus = z
  .string()
  .refine((s): s is TcbStatus => (TCB_STATUSES as string[]).includes(s), "unknown TCB status")
  .refine((s) => !NEVER_ACCEPTED.includes(s as TcbStatus), "Revoked/Unknown can never be accepted");

export const GatekeeperConfig = z.object({
  host: z.string().default("127.0.0.1"),
  port: z.coerce.number().int().min(0).max(65535).default(8090),
  /** The chain this gatekeeper serves; simulated evidence only on 31337/1337. */
  chainId: z.coerce.bigint().positive(),
  rpcUrl: z.string().url().optional(),
  workerRegistry: address,
  /** GatekeeperQuorumVerifier: the EIP-712 verifying contract of WorkerAttestation signatures. */
  quorumVerifier: address,
  keyRegistry: address,
  /** This gatekeeper's signing key (its address is in the gatekeeper set). Also pays rotation transactions. */
  signerPrivateKey: key32,
  /** Master key seed (development stand-in for the TEE-sealed master key); shared by every gatekeeper. */
  masterKey: key32,
  tcbAccept: z.array(tcbStatus).nonempty().default(["UpToDate"]),
  /** Longest validity a gatekeeper signs; requests may ask for less. */
  attestationValiditySeconds: z.coerce
    .number()
    .int()
    .positive()
    .default(7 * 24 * 3600),
  simulatedQuoteMaxAgeSeconds: z.coerce
    .number()
    .int()
    .positive()
    .default(24 * 3600),
  /** Collateral JSON file used when a DCAP request brings none (refresh it from a PCCS out of band). */
  collateralFile: z.string().optional(),
  /** Base URLs of all gatekeepers (including this one) asked to sign a rotation. */
  peers: z.array(z.string().url()).default([]),
  /** node-cron expression for scheduled rotations (e.g. "0 0 * * 0" weekly); none = on demand only. */
  rotationSchedule: z.string().optional(),
  /** Bearer token for POST /v1/rotation; without it the endpoint is disabled. */
  adminToken: z.string().min(16).optional(),
  logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
});
export type GatekeeperConfig = z.infer<typeof GatekeeperConfig>;

/**
 * Reads the JSON file named by GATEKEEPER_CONFIG (if any) and overlays secrets from the environment
 * (GATEKEEPER_SIGNER_KEY, GATEKEEPER_MASTER_KEY, GATEKEEPER_ADMIN_TOKEN), then validates.
 */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): GatekeeperConfig {
  const file = env.GATEKEEPER_CONFIG ? (JSON.parse(readFileSync(env.GATEKEEPER_CONFIG, "utf8")) as Record<string, unknown>) : {};
  const overlay = Object.fromEntries(
    Object.entries({
      signerPrivateKey: env.GATEKEEPER_SIGNER_KEY,
      masterKey: env.GATEKEEPER_MASTER_KEY,
      adminToken: env.GATEKEEPER_ADMIN_TOKEN,
      rpcUrl: env.RPC_URL,
      port: env.GATEKEEPER_PORT,
    }).filter(([, v]) => v !== undefined),
  );
  const parsed = GatekeeperConfig.safeParse({ ...file, ...overlay });
  if (!parsed.success) {
    // Field paths only: never echo values, some are secrets.
    const problems = parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; ");
    throw new Error(`invalid gatekeeper config: ${problems}`);
  }
  return parsed.data;
}
