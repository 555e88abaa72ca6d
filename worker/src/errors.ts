import { AgentStatus, type AgentStatusCode, statusName } from "../../protocol/status.js";

/**
 * A failure that ends an execution as a signed error result: the status goes into the signed
 * fulfilment and the message (short, never secret) becomes the output bytes.
 */
export class ExecutionFailure extends Error {
  constructor(
    readonly status: AgentStatusCode,
    message: string,
  ) {
    super(message);
    this.name = `ExecutionFailure(${statusName(status)})`;
  }

  static from(error: unknown): ExecutionFailure {
    if (error instanceof ExecutionFailure) return error;
    return new ExecutionFailure(AgentStatus.INTERNAL_ERROR, "internal worker error");
  }
}

/**
 * A request the worker refuses to sign anything for (wrong worker, input not matching its hash,
 * a different request under an id already answered): the bridge gets an HTTP error instead.
 */
export class RequestRejected extends Error {
  constructor(
    readonly httpStatus: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "RequestRejected";
  }
}

/** Invalid worker configuration, reported at start-up. */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** The enclave (dstack guest agent or simulator) could not derive a key or produce a quote. */
export class EnclaveError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "EnclaveError";
  }
}
