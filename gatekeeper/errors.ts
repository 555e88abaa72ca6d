/** A request the gatekeeper refuses; `status` is the HTTP status it maps to. */
export class GatekeeperError extends Error {
  constructor(
    message: string,
    readonly status: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

export class BadRequestError extends GatekeeperError {
  constructor(message: string) {
    super(message, 400);
  }
}

/** The evidence was verified and refused (DCAP failure, TCB policy, key binding, simulated on a real chain). */
export class AttestationRefusedError extends GatekeeperError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 403, options);
  }
}

/** The caller is known and not allowed (e.g. a rotation not requested by a current gatekeeper). */
export class ForbiddenError extends GatekeeperError {
  constructor(message: string) {
    super(message, 403);
  }
}

export class UnauthorizedError extends GatekeeperError {
  constructor() {
    super("missing or wrong admin token", 401);
  }
}

/** A rotation cannot start now (one is pending, peers did not sign, ...). */
export class RotationError extends GatekeeperError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, 409, options);
  }
}
