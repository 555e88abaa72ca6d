import { utf8Decode, utf8Encode } from "../../worker/sdk/abi.js";
import { defineAgent, type AgentContext } from "../../worker/sdk/index.js";
import { functionsApi } from "./functions-api.js";
import { Location, RequestError, parseFunctionsRequest, type FunctionsRequestData } from "./request.js";

/**
 * The Chainlink Functions runtime: runs the inline JavaScript of a Chainlink Functions request the
 * way Chainlink's nodes do, with `Functions`, `args`, `bytesArgs` and `secrets` in scope, inside this
 * agent's own sandbox run (same heap, CPU, wall-time, host-call and output limits).
 *
 * Input (written by contracts/compat/FunctionsRouterAdapter.sol): client address (20 bytes) ||
 * FunctionsRequest CBOR. Output: RESPONSE || the bytes the source returned, or ERROR || the UTF-8
 * error text, which the adapter hands to the client's `fulfillRequest` as `response` or `err`.
 */
export const RESPONSE = 0x00;
export const ERROR = 0x01;

/** Chainlink's text for source that does not compile (its sandbox cannot tell the causes apart). */
export const SYNTAX_ERROR = "syntax error, RAM exceeded, or other error";

// Captured before any user source runs: it may replace globals, which must not change how its own
// result is read.
const Uint8ArrayCtor = Uint8Array;
const ArrayBufferCtor = ArrayBuffer;
const AsyncFunction = Object.getPrototypeOf(async () => undefined).constructor as new (...args: string[]) => (...values: unknown[]) => Promise<unknown>;

export default defineAgent(async (_input, ctx) => {
  // Only these two host capabilities are taken from ctx; ctx itself never reaches the user's source.
  const { fetch, log } = ctx;
  const openForwardedInput = ctx.openForwardedInput;
  let request: FunctionsRequestData;
  let secrets: Record<string, string>;
  try {
    request = parseFunctionsRequest(ctx.inputBytes);
    secrets = request.secrets === undefined ? {} : await openSecrets(request, openForwardedInput);
  } catch (error) {
    if (error instanceof RequestError) return failed(error.message);
    throw error;
  }

  const consoleLike = { log, info: log, warn: log, error: log, debug: log };
  (globalThis as { console?: unknown }).console ??= consoleLike;
  let script: (...values: unknown[]) => Promise<unknown>;
  try {
    // Chainlink runs the source as the body of an async function in an ES module: strict mode.
    script = new AsyncFunction("Functions", "args", "bytesArgs", "secrets", `"use strict";\n${request.source}`);
  } catch (error) {
    log(`source does not compile: ${String(error)}`);
    return failed(SYNTAX_ERROR);
  }
  try {
    const result = await script(functionsApi(fetch), request.args, request.bytesArgs, secrets);
    const max = request.maxResponseBytes;
    if (result instanceof ArrayBufferCtor) return succeeded(new Uint8ArrayCtor(result), max);
    if (result instanceof Uint8ArrayCtor) return succeeded(result, max);
    return failed("returned value not an ArrayBuffer or Uint8Array", max);
  } catch (e) {
    // QuickJS raises its own limits (heap, stack, interrupt) as InternalError: they end the run with
    // the sandbox's status, as running out of memory ends a run on Chainlink's nodes.
    if (isEngineError(e)) throw e;
    return failed(errorText(e), request.maxResponseBytes);
  }
});

function isEngineError(e: unknown): boolean {
  try {
    return e instanceof Error && e.name === "InternalError";
  } catch {
    return false;
  }
}

/**
 * The request's secrets: Location.Remote carrying `sealForwardedInput(clusterKey, epoch, JSON, {
 * consumer: adapter, agentId: this agent, client })`. They open for the client the adapter named,
 * and this runs before the user's source exists, so no source can ask for another client's.
 */
async function openSecrets(request: FunctionsRequestData, open: AgentContext["openForwardedInput"]): Promise<Record<string, string>> {
  const { location, reference } = request.secrets!;
  if (location === Location.DONHosted) {
    throw new RequestError(
      "DON-hosted secrets are not supported: seal the secrets to the cluster key (sealFunctionsSecrets) and send them with addSecretsReference",
    );
  }
  if (location !== Location.Remote) throw new RequestError(`secrets location ${location} is not supported`);
  let plaintext: Uint8Array;
  try {
    plaintext = await open(reference, request.client);
  } catch (error) {
    throw new RequestError((error as Error).message);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(utf8Decode(plaintext));
  } catch {
    parsed = undefined;
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed) || Object.values(parsed).some((v) => typeof v !== "string")) {
    throw new RequestError("secrets are not a JSON object of strings");
  }
  return parsed as Record<string, string>;
}

/** Chainlink's sandbox: an Error's message, a thrown string, or the type of anything else. */
function errorText(e: unknown): string {
  try {
    if (e instanceof Error) return String(e.message ?? "invalid value returned");
    if (typeof e === "string") return e;
    return `invalid value thrown of type ${typeof e}`;
  } catch {
    return "invalid value thrown";
  }
}

/**
 * RESPONSE || response, or the adapter's error text when the response exceeds its limit: the answer
 * the relayer carries on chain never holds more than `maxResponseBytes`, whose calldata the adapter
 * reserved (the adapter checks the limit again).
 */
function succeeded(response: Uint8Array, maxResponseBytes: number): Uint8Array {
  // Sized by the checked length: if the source redefined `length`, `set` (which reads the real
  // one) throws rather than write past it.
  const length = response.length;
  if (length > maxResponseBytes) return failed(`response >${maxResponseBytes} bytes`, maxResponseBytes);
  const out = new Uint8ArrayCtor(length + 1);
  out[0] = RESPONSE;
  out.set(response, 1);
  return out;
}

/** ERROR || the UTF-8 text, cut at `maxResponseBytes` as the adapter cuts it. */
function failed(message: string, maxResponseBytes = Number.MAX_SAFE_INTEGER): Uint8Array {
  const text = utf8Encode(message);
  const length = text.length;
  const kept = length > maxResponseBytes ? maxResponseBytes : length;
  const out = new Uint8ArrayCtor(kept + 1);
  out[0] = ERROR;
  out.set(text.subarray(0, kept), 1);
  return out;
}
