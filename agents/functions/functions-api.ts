/**
 * The `Functions` object Chainlink Functions source code uses, on top of the worker's `ctx.fetch`.
 * Behaviour and error texts follow Chainlink's sandbox (functions-toolkit
 * src/simulateScript/deno-sandbox/sandbox.ts): `makeHttpRequest` resolves, never rejects, to
 * `{ error: false, status, statusText, headers, data }` or `{ error: true, message, code?, response? }`.
 */
import { utf8Encode } from "../../worker/sdk/abi.js";
import type { FetchInit, FetchResponse } from "../../worker/sdk/index.js";

export interface HttpRequestOptions {
  url: string;
  method?: string;
  params?: Record<string, unknown>;
  headers?: Record<string, unknown>;
  data?: unknown;
  timeout?: number;
  responseType?: "json" | "arraybuffer" | "document" | "text" | "stream";
}

export interface HttpSuccess {
  error: false;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  data?: unknown;
}

export interface HttpFailure {
  error: true;
  message?: string;
  code?: string;
  response?: { status: number; statusText: string; headers: Record<string, string>; data: string };
}

export interface FunctionsApi {
  makeHttpRequest(options: HttpRequestOptions): Promise<HttpSuccess | HttpFailure>;
  encodeUint256(value: number | bigint): Uint8Array;
  encodeInt256(value: number | bigint): Uint8Array;
  encodeString(value: string): Uint8Array;
}

type Fetch = (url: string, init?: FetchInit) => Promise<FetchResponse>;

/** Chainlink's default: a request gives up after 3 s. */
const DEFAULT_TIMEOUT_MS = 3_000;
const TWO_256 = 1n << 256n;

export function functionsApi(fetch: Fetch): FunctionsApi {
  return {
    async makeHttpRequest({ url, method = "get", params, headers, data, timeout = DEFAULT_TIMEOUT_MS, responseType = "json" }) {
      try {
        if (params) url += "?" + formEncode(params);
        const result = await fetch(String(url), {
          method: String(method).toUpperCase() as FetchInit["method"],
          headers: headers && stringValues(headers),
          body: data ? JSON.stringify(data) : undefined,
          timeoutMs: timeout,
        });
        const body = await result.text();
        if (result.status >= 400) {
          const response = { status: result.status, statusText: result.statusText, headers: { ...result.headers }, data: body };
          return { error: true, message: result.statusText, code: result.status.toString(), response };
        }
        const success: HttpSuccess = { error: false, status: result.status, statusText: result.statusText, headers: { ...result.headers } };
        switch (responseType) {
          case "json":
            success.data = JSON.parse(body);
            break;
          case "arraybuffer":
            // The worker hands bodies over as UTF-8 text: exact for text, not for binary bodies.
            success.data = utf8Encode(body).buffer;
            break;
          case "document":
          case "text":
            success.data = body;
            break;
          default:
            throw new Error(responseType === "stream" ? "responseType stream is not supported" : "invalid response type");
        }
        return success;
      } catch (e) {
        return { error: true, message: describe(e) };
      }
    },

    encodeUint256(num) {
      const value = integer(num, "encodeUint256", "input into Functions.encodeUint256 is not an integer");
      if (value < 0n) throw new Error("input into Functions.encodeUint256 is negative");
      if (value >= TWO_256) throw new Error("input into Functions.encodeUint256 is too large");
      return word(value);
    },

    encodeInt256(num) {
      // Chainlink's sandbox names encodeUint256 in this message too; kept so error texts match.
      const value = integer(num, "encodeInt256", "input into Functions.encodeUint256 is not an integer");
      if (value < -(TWO_256 >> 1n)) throw new Error("input into Functions.encodeInt256 is too small");
      if (value >= TWO_256 >> 1n) throw new Error("input into Functions.encodeInt256 is too large");
      return word(value < 0n ? TWO_256 + value : value);
    },

    encodeString(str) {
      // TextEncoder.encode: a missing argument is "", anything else is converted to a string.
      return utf8Encode(str === undefined ? "" : String(str));
    },
  };
}

function integer(num: unknown, name: string, notInteger: string): bigint {
  if (typeof num !== "number" && typeof num !== "bigint") throw new Error(`input into Functions.${name} is not a number or bigint`);
  if (typeof num === "number" && !Number.isInteger(num)) throw new Error(notInteger);
  return BigInt(num);
}

function word(value: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 31; i >= 0; i--, value >>= 8n) out[i] = Number(value & 0xffn);
  return out;
}

/** What `e?.toString?.()` gives in Chainlink's sandbox. */
function describe(e: unknown): string | undefined {
  try {
    return (e as { toString?: () => string } | null)?.toString?.();
  } catch {
    return undefined;
  }
}

function stringValues(record: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(record)) out[key] = String(value);
  return out;
}

/** `new URLSearchParams(params).toString()`: application/x-www-form-urlencoded (absent in the sandbox). */
export function formEncode(params: Record<string, unknown>): string {
  const encode = (text: string) =>
    encodeURIComponent(text)
      .replace(/[!'()~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
      .replace(/%20/g, "+");
  return Object.entries(params)
    .map(([key, value]) => `${encode(key)}=${encode(String(value))}`)
    .join("&");
}
