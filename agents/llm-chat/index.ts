import { defineAgent, type ChatMessage, type JsonValue } from "../../worker/sdk/index.js";

/**
 * LLM agent: answers a question with the worker's OpenAI-compatible endpoint.
 * Input: plain text, or JSON {"prompt": "...", "sentimentAgent"?: "<agent id>"}. With a sentiment
 * agent id it also asks that agent (a paid sub-call) to classify the answer.
 * The owner may set a secret SYSTEM_PROMPT. Output: JSON {answer, model, sentiment?}.
 */
interface Query {
  prompt: string;
  sentimentAgent?: string;
}

const DEFAULT_SYSTEM_PROMPT = "You are a concise assistant answering for a smart contract. Answer in at most three sentences.";
const MAX_TOKENS = 256;

function parseQuery(input: string): Query {
  const trimmed = input.trim();
  if (trimmed.startsWith("{")) {
    const parsed = JSON.parse(trimmed) as Partial<Query>;
    if (typeof parsed.prompt !== "string" || parsed.prompt === "") throw new Error("input JSON needs a non-empty prompt");
    return { prompt: parsed.prompt, sentimentAgent: parsed.sentimentAgent === undefined ? undefined : String(parsed.sentimentAgent) };
  }
  if (trimmed === "") throw new Error("empty prompt");
  return { prompt: trimmed };
}

export default defineAgent(async (input, ctx) => {
  const query = parseQuery(input);
  const messages: ChatMessage[] = [
    { role: "system", content: ctx.secrets.SYSTEM_PROMPT ?? DEFAULT_SYSTEM_PROMPT },
    { role: "user", content: query.prompt },
  ];
  const reply = await ctx.llm.chat({ messages, max_tokens: MAX_TOKENS });
  ctx.log("llm answered", reply.model, reply.usage?.totalTokens ?? 0, "tokens");
  const result: { answer: string; model: string; sentiment?: JsonValue } = { answer: reply.content.trim(), model: reply.model };
  if (query.sentimentAgent !== undefined) {
    result.sentiment = (await ctx.callAgent(query.sentimentAgent, reply.content)).json<JsonValue>();
  }
  return result;
});
