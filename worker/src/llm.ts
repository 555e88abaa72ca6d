import { AgentStatus } from "../../protocol/status.js";
import { BodyTooLarge, readLimited } from "./bundle/fetcher.js";
import { HostCallFailure, type ChatArgs, type ChatReply } from "./sandbox/host-api.js";

export interface LlmEndpoint {
  baseUrl: string;
  apiKey?: string;
  model: string;
  /** Models agents may ask for; default: only `model`. */
  models?: string[];
  /** Largest max_tokens an agent may ask for (sent when it names none); default 1024. */
  maxTokens?: number;
  timeoutMs: number;
}

const DEFAULT_MAX_TOKENS = 1024;

/** Largest completion response accepted from the endpoint. */
const MAX_COMPLETION_BYTES = 4 * 1024 * 1024;

/**
 * llm.chat for agents: POST {baseUrl}/chat/completions of any OpenAI-compatible server. The worker
 * operator configures the endpoint and key; agents never see the key, and the operator's config
 * bounds what they can spend with it: only the listed models, at most `maxTokens` per completion
 * (sent when the agent names none). Temperature defaults to 0 and a seed derived from the request
 * is sent, so endpoints that honour them answer reproducibly.
 */
export class LlmClient {
  constructor(private readonly endpoint: LlmEndpoint | undefined) {}

  async chat(args: ChatArgs, seed: number, signal: AbortSignal): Promise<ChatReply> {
    if (this.endpoint === undefined) {
      throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, "llm.chat denied: this worker has no LLM endpoint");
    }
    const { baseUrl, apiKey, model, timeoutMs } = this.endpoint;
    const models = this.endpoint.models ?? [model];
    const maxTokens = this.endpoint.maxTokens ?? DEFAULT_MAX_TOKENS;
    if (args.model !== undefined && !models.includes(args.model)) {
      throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, `llm.chat denied: model ${args.model.slice(0, 64)} is not offered by this worker`);
    }
    if (args.max_tokens !== undefined && args.max_tokens > maxTokens) {
      throw new HostCallFailure(AgentStatus.HOST_CALL_DENIED, `llm.chat denied: max_tokens ${args.max_tokens} exceeds this worker's ${maxTokens}`);
    }
    const url = `${baseUrl.replace(/\/+$/, "")}/chat/completions`;
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (apiKey !== undefined) headers.authorization = `Bearer ${apiKey}`;
    const response = await fetch(url, {
      method: "POST",
      headers,
      body: JSON.stringify({ ...args, model: args.model ?? model, max_tokens: args.max_tokens ?? maxTokens, temperature: args.temperature ?? 0, seed }),
      signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]),
    });
    let body: Uint8Array;
    try {
      body = await readLimited(response, MAX_COMPLETION_BYTES);
    } catch (error) {
      if (error instanceof BodyTooLarge) throw new Error("llm.chat: completion too large", { cause: error });
      throw error;
    }
    if (!response.ok) throw new Error(`llm.chat: endpoint answered HTTP ${response.status}`);
    let parsed: CompletionResponse;
    try {
      parsed = JSON.parse(new TextDecoder().decode(body)) as CompletionResponse;
    } catch {
      throw new Error("llm.chat: endpoint answered invalid JSON");
    }
    const choice = parsed.choices?.[0];
    if (choice === undefined || typeof choice.message?.content !== "string") {
      throw new Error("llm.chat: endpoint answered no message");
    }
    return {
      content: choice.message.content,
      model: typeof parsed.model === "string" ? parsed.model : (args.model ?? model),
      finishReason: typeof choice.finish_reason === "string" ? choice.finish_reason : null,
      usage:
        parsed.usage === undefined
          ? undefined
          : {
              promptTokens: Number(parsed.usage.prompt_tokens ?? 0),
              completionTokens: Number(parsed.usage.completion_tokens ?? 0),
              totalTokens: Number(parsed.usage.total_tokens ?? 0),
            },
    };
  }
}

interface CompletionResponse {
  model?: unknown;
  choices?: { message?: { content?: unknown }; finish_reason?: unknown }[];
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown; total_tokens?: unknown };
}
