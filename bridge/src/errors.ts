/** Base class of every error the bridge raises on purpose; `code` is stable for logs and the CLI. */
export class BridgeError extends Error {
  constructor(
    message: string,
    readonly code: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The configuration file or environment is invalid; the message lists every problem. */
export class ConfigError extends BridgeError {
  constructor(message: string) {
    super(message, "CONFIG_INVALID");
  }
}

/** The store was created for another chain or router than the one configured. */
export class StoreMismatchError extends BridgeError {
  constructor(message: string) {
    super(message, "STORE_MISMATCH");
  }
}

/** A worker endpoint failed to answer usefully (network error, timeout, HTTP error, bad body). */
export class WorkerCallError extends BridgeError {
  constructor(
    message: string,
    readonly endpoint: string,
    readonly retryable: boolean,
    options?: { cause?: unknown },
  ) {
    super(message, "WORKER_CALL_FAILED", options);
  }
}

/** A worker answered, but its answer is not one the router would accept (wrong signer, hash...). */
export class InvalidWorkerAnswerError extends BridgeError {
  constructor(
    message: string,
    readonly endpoint: string,
  ) {
    super(message, "INVALID_WORKER_ANSWER");
  }
}

/** eth_call of a transaction reverted: sending it would only burn gas. */
export class SimulationError extends BridgeError {
  constructor(
    message: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(message, "SIMULATION_REVERTED", options);
  }
}

/** A JSON-RPC call failed (transport or node error) — retried by the caller's loop. */
export class RpcError extends BridgeError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, "RPC_FAILED", options);
  }
}

export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
