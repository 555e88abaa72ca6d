import { WORD_HEX, uintWord } from "../../../protocol/abi-words.js";
import type { Hex } from "../../../protocol/hex.js";
import { AGENT_REQUEST_FIELDS, encodeAgentRequest } from "../../../protocol/request.js";
import type { Fulfillment } from "./chain-client.js";

const WORD_BYTES = 32;
/** A Fulfillment's head: the static AgentRequest inline, status, then offsets of output, subAgentIds, subAgentPrices, signature. */
const HEAD_WORDS = AGENT_REQUEST_FIELDS.length + 5;

function hexBody(value: string): string {
  return value.startsWith("0x") ? value.slice(2) : value;
}

/** ABI `bytes` tail: length word, then the data right-padded to whole words. */
function bytesTail(hex: string): string {
  const body = hexBody(hex);
  const padded = Math.ceil(body.length / WORD_HEX) * WORD_HEX;
  return uintWord(body.length / 2) + body.padEnd(padded, "0");
}

/** ABI `uint[]` tail: length word, then one word per element. */
function uintArrayTail(values: bigint[]): string {
  return uintWord(values.length) + values.map(uintWord).join("");
}

function encodeOne(fulfillment: Fulfillment): string {
  const output = bytesTail(fulfillment.output);
  const subAgents = uintArrayTail(fulfillment.subAgentIds);
  const prices = uintArrayTail(fulfillment.subAgentPrices);
  const signature = bytesTail(fulfillment.signature);
  const outputAt = HEAD_WORDS * WORD_BYTES;
  const subAgentsAt = outputAt + output.length / 2;
  const pricesAt = subAgentsAt + subAgents.length / 2;
  const signatureAt = pricesAt + prices.length / 2;
  return (
    encodeAgentRequest(fulfillment.request) +
    uintWord(fulfillment.status) +
    uintWord(outputAt) +
    uintWord(subAgentsAt) +
    uintWord(pricesAt) +
    uintWord(signatureAt) +
    output +
    subAgents +
    prices +
    signature
  );
}

/**
 * Calldata of `fulfillBatch(Fulfillment[])`, ABI-encoded by hand with string building: identical to
 * ethers' Interface.encodeFunctionData (tested), ~30x faster on batches of hundreds, where ethers'
 * generic coder cost the bridge ~0.6 ms per answer. Inputs come from decoded events and verified
 * answers, so they are already within their ABI types.
 */
export function encodeFulfillBatchCalldata(selector: string, fulfillments: Fulfillment[]): Hex {
  const elements = fulfillments.map(encodeOne);
  const offsets: string[] = [];
  let at = fulfillments.length * WORD_BYTES;
  for (const element of elements) {
    offsets.push(uintWord(at));
    at += element.length / 2;
  }
  return `${selector as Hex}${uintWord(WORD_BYTES)}${uintWord(fulfillments.length)}${offsets.join("")}${elements.join("")}`;
}
