import { z } from "zod";
import type { AgentStatusCode } from "../../../protocol/status.js";

/**
 * A host call refused or failed with a status of its own (egress denied, budget exceeded,
 * sub-agent failed...). The agent sees it as a catchable HostCallError; if it ends the run
 * uncaught, the run's result carries this status.
 */
export class HostCallFailure extends Error {
  constructor(
    readonly status: AgentStatusCode,
    message: string,
  ) {
    super(message);
    this.name = "HostCallFailure";
  }
}

const headers = z.record(z.string(), z.string()).default({});

export const FetchArgs = z.object({
  url: z.string().max(8192),
  method: z.enum(["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD"]).default("GET"),
  headers,
  body: z.string().optional(),
  /** Gives up on the call after this many ms (the request's wall time bounds it anyway). */
  timeoutMs: z.number().int().positive().optional(),
});
export type FetchArgs = z.infer<typeof FetchArgs>;

export interface FetchReply {
  url: string;
  status: number;
  statusText: string;
  headers: Record<string, string>;
  body: string;
}

export const ChatArgs = z.object({
  model: z.string().optional(),
  messages: z.array(z.object({ role: z.enum(["system", "user", "assistant", "tool"]), content: z.string() })).min(1),
  temperature: z.number().min(0).max(2).optional(),
  max_tokens: z.number().int().positive().optional(),
  response_format: z.object({ type: z.enum(["text", "json_object"]) }).optional(),
});
export type ChatArgs = z.infer<typeof ChatArgs>;

export interface ChatReply {
  content: string;
  model: string;
  finishReason: string | null;
  usage?: { promptTokens: number; completionTokens: number; totalTokens: number };
}

export const CallAgentArgs = z.object({
  agentId: z.string().regex(/^\d{1,78}$/, "agent id must be a decimal integer"),
  input: z.union([z.object({ text: z.string() }), z.object({ hex: z.string().regex(/^([0-9a-f]{2})*$/) })]),
});

export interface CallAgentReply {
  text: string;
  hex: string;
}

export const OpenForwardedInputArgs = z.object({
  hex: z.string().regex(/^([0-9a-f]{2})*$/, "sealed must be bytes"),
  client: z.string().regex(/^0x[0-9a-fA-F]{40}$/, "client must be an address"),
});

/** What a sandbox may ask the host for. Every method may throw HostCallFailure. */
export interface HostServices {
  fetch(args: FetchArgs, signal: AbortSignal): Promise<FetchReply>;
  llmChat(args: ChatArgs, signal: AbortSignal): Promise<ChatReply>;
  callAgent(agentId: bigint, input: Uint8Array, signal: AbortSignal): Promise<Uint8Array>;
  /** Opens a forwarded input sealed for this request's consumer, this agent and `client` (protocol/confidential.ts). */
  openForwardedInput(sealed: Uint8Array, client: string, signal: AbortSignal): Promise<Uint8Array>;
}

export type HostOp = "fetch" | "llm.chat" | "callAgent" | "openForwardedInput";

/** Parses a guest's JSON arguments for `op` and calls the matching service. */
export async function dispatchHostCall(services: HostServices, op: string, argsJson: string, signal: AbortSignal): Promise<unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(argsJson);
  } catch {
    throw new TypeError(`${op}: arguments are not JSON`);
  }
  switch (op) {
    case "fetch":
      return services.fetch(parseArgs(FetchArgs, op, raw), signal);
    case "llm.chat":
      return services.llmChat(parseArgs(ChatArgs, op, raw), signal);
    case "callAgent": {
      const args = parseArgs(CallAgentArgs, op, raw);
      const input = "text" in args.input ? new TextEncoder().encode(args.input.text) : Buffer.from(args.input.hex, "hex");
      const output = await services.callAgent(BigInt(args.agentId), new Uint8Array(input), signal);
      return { text: new TextDecoder().decode(output), hex: Buffer.from(output).toString("hex") } satisfies CallAgentReply;
    }
    case "openForwardedInput": {
      const args = parseArgs(OpenForwardedInputArgs, op, raw);
      const plaintext = await services.openForwardedInput(new Uint8Array(Buffer.from(args.hex, "hex")), args.client, signal);
      return { hex: Buffer.from(plaintext).toString("hex") };
    }
    default:
      throw new TypeError(`unknown host call ${op}`);
  }
}

function parseArgs<T extends z.ZodTypeAny>(schema: T, op: string, raw: unknown): z.infer<T> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new TypeError(`${op}: invalid arguments (${issue?.path.join(".") || "args"}: ${issue?.message})`);
  }
  return parsed.data;
}
