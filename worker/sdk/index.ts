/**
 * Agent SDK: the types of what an agent gets inside the worker's sandbox, and `defineAgent`.
 *
 *   import { defineAgent } from "<repo>/worker/sdk/index.js";
 *   export default defineAgent(async (input, ctx) => `hello ${input}`);
 *
 * Outputs a contract reads with `abi.decode`, and inputs it built with `abi.encode`, go through `abi`:
 *   export default defineAgent((_input, ctx) => {
 *     const [text] = abi.decode(["string"], ctx.inputBytes);
 *     return abi.encode(["uint256", "string"], [42n, `${text}!`]);
 *   });
 *
 * Bundle with `npm run agent:build -- <entry.ts>` (or `npx hardhat agent:register <entry.ts>`).
 * Agents run in QuickJS: plain ECMAScript, no Node or browser APIs (no TextEncoder, no timers);
 * everything from outside comes through `ctx`.
 */

export * as abi from "./abi.js";
export { AbiError, type AbiValue } from "./abi.js";

/** Anything an agent may return: a string (UTF-8), bytes, or a JSON-serialisable value. */
export type AgentOutput = string | Uint8Array | ArrayBuffer | JsonValue | undefined;

export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

export interface AgentRequestInfo {
  requestId: string;
  requestHash: string;
  consumer: string;
  /** The calling agent's id for a sub-agent call, "" for the main agent. */
  caller: string;
  /** Unix seconds. */
  deadline: string;
}

export interface FetchInit {
  method?: "GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD";
  headers?: Record<string, string>;
  body?: string;
}

export interface FetchResponse {
  url: string;
  status: number;
  ok: boolean;
  headers: Readonly<Record<string, string>>;
  text(): Promise<string>;
  json<T = unknown>(): Promise<T>;
}

export interface ChatMessage {
  role: "system" | "user" | "assistant" | "tool";
  content: string;
}

export interface ChatRequest {
  messages: ChatMessage[];
  /** Default: the worker's configured model. */
  model?: string;
  /** Default 0. */
  temperature?: number;
  max_tokens?: number;
  response_format?: { type: "text" | "json_object" };
}

export interface ChatResponse {
  content: string;
  model: string;
  finishReason: string | null;
  usage?: { promptTokens: number; completionTokens: number; totalTokens: number };
}

export interface SubAgentResult {
  text: string;
  bytes: Uint8Array;
  json<T = unknown>(): T;
}

/**
 * Thrown by host calls. `code` is a protocol status name: HOST_CALL_DENIED (egress policy, call
 * depth or cycle), BUDGET_EXCEEDED, SUB_AGENT_FAILED... or HOST_CALL_FAILED for plain I/O errors.
 * Uncaught, it ends the run with that status.
 */
export interface HostCallError extends Error {
  name: "HostCallError";
  code: string;
}

export interface AgentContext {
  agentId: string;
  request: Readonly<AgentRequestInfo>;
  /** The input as raw bytes (the `input` argument is its UTF-8 decoding). */
  inputBytes: Uint8Array;
  /** The agent owner's secrets (decrypted inside the enclave). */
  secrets: Readonly<Record<string, string>>;
  /** Request-derived: the request's deadline in unix ms. Date.now() returns the same. */
  now(): number;
  /** Request-derived deterministic randomness. Math.random() uses the same generator. */
  random(): number;
  randomBytes(length: number): Uint8Array;
  log(...args: unknown[]): void;
  /** HTTP(S) to hosts the worker's egress policy allows; redirects are returned, not followed. */
  fetch(url: string, init?: FetchInit): Promise<FetchResponse>;
  llm: { chat(request: ChatRequest): Promise<ChatResponse> };
  /** Runs another registered agent (its current code) in its own sandbox; its price is paid from the request. */
  callAgent(agentId: string | number | bigint, input: string | Uint8Array | JsonValue): Promise<SubAgentResult>;
}

export type AgentHandler = (input: string, ctx: AgentContext) => AgentOutput | Promise<AgentOutput>;

/** Marks the default export of an agent's entry module as its handler. */
export function defineAgent(handler: AgentHandler): AgentHandler {
  return handler;
}
