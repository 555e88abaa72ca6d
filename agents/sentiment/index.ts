import { defineAgent } from "../../worker/sdk/index.js";

/**
 * Offline sentiment agent: scores English text with a small lexicon, handling negation ("not
 * good") and intensifiers ("very bad"). Input: plain text, or JSON {"text": "..."}.
 * Output: JSON {label, score, positive, negative, words}.
 */
const LEXICON: Record<string, number> = {
  good: 2,
  great: 3,
  excellent: 4,
  amazing: 4,
  love: 3,
  like: 2,
  happy: 3,
  nice: 2,
  best: 3,
  wonderful: 4,
  fast: 1,
  reliable: 2,
  win: 2,
  gain: 2,
  profit: 2,
  bullish: 3,
  up: 1,
  strong: 2,
  safe: 2,
  fair: 1,
  bad: -2,
  terrible: -4,
  awful: -4,
  hate: -3,
  poor: -2,
  worst: -4,
  sad: -2,
  slow: -1,
  broken: -3,
  bug: -2,
  loss: -2,
  lose: -2,
  bearish: -3,
  down: -1,
  weak: -2,
  scam: -4,
  risky: -2,
  angry: -3,
  fail: -3,
  failed: -3,
};
const NEGATIONS = new Set(["not", "no", "never", "isn't", "wasn't", "don't", "doesn't", "didn't", "can't", "won't"]);
const INTENSIFIERS: Record<string, number> = { very: 1.5, really: 1.5, extremely: 2, so: 1.3, slightly: 0.5 };
/** Scores within this distance of zero are neutral. */
const NEUTRAL_BAND = 0.05;

function textOf(input: string): string {
  const trimmed = input.trim();
  if (trimmed.startsWith("{")) {
    try {
      const parsed = JSON.parse(trimmed) as { text?: unknown };
      if (typeof parsed.text === "string") return parsed.text;
    } catch {
      // Not JSON after all: score the raw text.
    }
  }
  return input;
}

export function analyse(text: string) {
  const words = text.toLowerCase().match(/[a-z']+/g) ?? [];
  let total = 0;
  let positive = 0;
  let negative = 0;
  for (let i = 0; i < words.length; i++) {
    const base = LEXICON[words[i] as string];
    if (base === undefined) continue;
    let weight = base;
    const previous = words[i - 1];
    const beforePrevious = words[i - 2];
    if (previous !== undefined && INTENSIFIERS[previous] !== undefined) weight *= INTENSIFIERS[previous] as number;
    if ([previous, beforePrevious].some((w) => w !== undefined && NEGATIONS.has(w))) weight = -weight;
    total += weight;
    if (weight > 0) positive += 1;
    else negative += 1;
  }
  const score = words.length === 0 ? 0 : Math.max(-1, Math.min(1, total / Math.sqrt(total * total + 15)));
  const rounded = Math.round(score * 1000) / 1000;
  const label = rounded > NEUTRAL_BAND ? "positive" : rounded < -NEUTRAL_BAND ? "negative" : "neutral";
  return { label, score: rounded, positive, negative, words: words.length };
}

export default defineAgent((input) => analyse(textOf(input)));
