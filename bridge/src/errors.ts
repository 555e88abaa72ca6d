import { BaseError, type BaseErrorOptions } from "../../protocol/errors.js";
import type { Hex } from "../../protocol/hex.js";
import type { RefusalDisposition } from "./dispatch/worker-refusals.js";

export { errorMessage } from "../../protocol/errors.js";

/** Base class of every error the bridge raises on purpose; `code` is stable for logs and the CLI. */
export class BridgeError extends BaseError {}

/** The configuration file or environment is invalid; the details list every problem. */
export class ConfigError extends BridgeError {
  constructor(shortMessage: string, options?: BaseErrorOptions) {
    super(shortMessage, "CONFIG_INVALID", options);
  }
}

/** The store was created for another chain or router, or by a newer bridge. */
export class StoreMismatchError extends BridgeError {
  constructor(shortMessage: string, options?: BaseErrorOptions) {
    super(shortMessage, "STORE_MISMATCH", options);
  }
}

/** The store's database failed or did not answer (Postgres: the server's SQLSTATE in the details). */
export class StoreError extends BridgeError {
  constructor(shortMessage: string, options?: BaseErrorOptions) {
    super(shortMessage, "STORE_FAILED", options);
  }
}

/**
 * Fencing (a fleet on one Postgres): this instance no longer holds the lease on requests it was
 * about to put in a transaction (it stalled past the lease and another instance claimed them), so
 * the transaction is not persisted and therefore never broadcast.
 */
export class LeaseLostError extends BridgeError {
  constructor(shortMessage: string, options?: BaseErrorOptions) {
    super(shortMessage, "LEASE_LOST", options);
  }
}

/**
 * Another live instance (a process renewing the lease) already runs with this relayer key: two
 * processes on one key would claim the same work and race on its nonces. Refused at start, before
 * this instance claims or sends anything; a dead instance's lease is waited out (at most leaseMs).
 * Also thrown, for good, to a process that stalled past its lease while a successor took the key:
 * its claims, transactions and fee bumps are refused, and the bridge stops itself.
 */
export class RelayerInUseError extends BridgeError {
  constructor(shortMessage: string, options?: BaseErrorOptions) {
    super(shortMessage, "RELAYER_IN_USE", options);
  }
}

/**
 * A worker endpoint failed to answer usefully (network error, timeout, refusal, bad body);
 * `disposition` says whether the request can still be answered (dispatch/worker-refusals.ts).
 */
export class WorkerCallError extends BridgeError {
  constructor(
    shortMessage: string,
    readonly endpoint: string,
    readonly disposition: RefusalDisposition,
    options?: BaseErrorOptions,
  ) {
    super(shortMessage, "WORKER_CALL_FAILED", options);
  }
}

/** A worker answered, but its answer is not one the router would accept (wrong signer, hash...). */
export class InvalidWorkerAnswerError extends BridgeError {
  constructor(
    shortMessage: string,
    readonly endpoint: string,
    options?: BaseErrorOptions,
  ) {
    super(shortMessage, "INVALID_WORKER_ANSWER", options);
  }
}

/** A call reverted, decoded as far as the contracts' ABIs allow. */
export interface Revert {
  /** Raw revert data ("0x" when the contract reverted without any). */
  data: Hex;
  /** Custom error (or Error / Panic) name, when a known ABI declares its selector. */
  name?: string;
  /** `Name(arg, ...)`, the string of Error(string), or "custom error 0x12345678" when unknown. */
  reason: string;
}

/** eth_call / eth_estimateGas of a transaction reverted: sending it would only burn gas. */
export class SimulationError extends BridgeError {
  constructor(
    method: string,
    readonly revert: Revert,
    options: BaseErrorOptions = {},
  ) {
    super(`${method} reverted`, "SIMULATION_REVERTED", { details: revert.reason, ...options });
  }

  get reason(): string {
    return this.revert.reason;
  }
}

/**
 * A JSON-RPC call failed. `rpcCode` and `data` are the node's error object when it answered with
 * one; `transport` is true when no JSON-RPC answer arrived at all (HTTP error, timeout, dropped
 * connection), so the caller cannot know whether the node acted on the call.
 */
export class RpcError extends BridgeError {
  constructor(
    readonly method: string,
    readonly failure: { transport: boolean; rpcCode?: number; data?: unknown; endpoint?: string },
    options: BaseErrorOptions = {},
  ) {
    // Which node failed (a config naming the wrong one); kept out of `details`, which is the node's own words (send-errors.ts matches them).
    super(failure.endpoint === undefined ? `${method} failed` : `${method} failed (${failure.endpoint})`, "RPC_FAILED", options);
  }

  get transport(): boolean {
    return this.failure.transport;
  }

  get rpcCode(): number | undefined {
    return this.failure.rpcCode;
  }
}

/**
 * The node answered from a view of the chain older than what the bridge already knows (a lagging
 * backend behind a load balancer): its answer is not used, and nothing is concluded from it (no
 * reorg, no cursor move). The pass is retried.
 */
export class StaleNodeError extends BridgeError {
  constructor(shortMessage: string, options?: BaseErrorOptions) {
    super(shortMessage, "STALE_NODE", options);
  }
}
