import type { TcbStatus } from "@phala/dcap-qvl";

/**
 * TCB status codes as carried on-chain (GatekeeperQuorumVerifier's `uint8 tcbStatus`). The order is
 * part of the EIP-712 WorkerAttestation contract: never reorder, only append.
 */
export const TCB_STATUS_CODES = {
  UpToDate: 0,
  SWHardeningNeeded: 1,
  ConfigurationNeeded: 2,
  ConfigurationAndSWHardeningNeeded: 3,
  OutOfDate: 4,
  OutOfDateConfigurationNeeded: 5,
  Revoked: 6,
  Unknown: 7,
} as const satisfies Record<TcbStatus, number>;

export type { TcbStatus };
export const TCB_STATUSES = Object.keys(TCB_STATUS_CODES) as TcbStatus[];

/** Which TCB statuses a gatekeeper accepts. Revoked and Unknown can never be accepted. */
export interface TcbPolicy {
  readonly accept: readonly TcbStatus[];
}

/** Statuses that no policy may accept: the platform is compromised or unknown to Intel. */
export const NEVER_ACCEPTED: readonly TcbStatus[] = ["Revoked", "Unknown"];

/** Production default: only fully patched platforms. */
export const STRICT_TCB_POLICY: TcbPolicy = { accept: ["UpToDate"] };

/**
 * Also accepts platforms whose remaining issues are mitigated in software by the enclave
 * (SWHardeningNeeded) or additionally need a BIOS configuration change (ConfigurationAndSWHardeningNeeded),
 * as cloud TDX/SGX hosts commonly report. Out-of-date platforms stay refused.
 */
export const HARDENING_TOLERANT_TCB_POLICY: TcbPolicy = {
  accept: ["UpToDate", "SWHardeningNeeded", "ConfigurationAndSWHardeningNeeded"],
};

export function tcbStatusCode(status: TcbStatus): number {
  const code = TCB_STATUS_CODES[status];
  if (code === undefined) throw new RangeError(`unknown TCB status ${String(status)}`);
  return code;
}

export function isTcbStatusAccepted(status: TcbStatus, policy: TcbPolicy): boolean {
  return !NEVER_ACCEPTED.includes(status) && policy.accept.includes(status);
}
