import { expect } from "chai";
import { Interface, hexlify, randomBytes } from "ethers";
import type { Fulfillment } from "../../bridge/src/chain/chain-client.js";
import { encodeFulfillBatchCalldata } from "../../bridge/src/chain/fulfill-calldata.js";
import { ROUTER_ABI } from "../../bridge/src/chain/contracts.js";
import type { Hex } from "../../protocol/hex.js";
import { randomRequest, randomUint } from "../protocol/random-request.js";

const iface = new Interface(ROUTER_ABI);
const selector = iface.getFunction("fulfillBatch")!.selector;

function randomFulfillment(outputBytes: number, subAgents: number): Fulfillment {
  return {
    request: randomRequest(),
    status: Number(randomUint(16) & 0xffffn),
    output: hexlify(randomBytes(outputBytes)) as Hex,
    subAgentIds: Array.from({ length: subAgents }, () => randomUint(256)),
    subAgentPrices: Array.from({ length: subAgents }, () => randomUint(96)),
    signature: hexlify(randomBytes(65)) as Hex,
  };
}

describe("bridge encodeFulfillBatchCalldata", () => {
  it("encodes an empty batch like ethers", () => {
    expect(encodeFulfillBatchCalldata(selector, [])).to.equal(iface.encodeFunctionData("fulfillBatch", [[]]));
  });

  it("encodes batches with outputs of 0, 1, 31, 32, 33 and 1000 bytes and 0-3 sub-agents like ethers", () => {
    const sizes = [0, 1, 31, 32, 33, 1000];
    const batch = sizes.flatMap((size, i) => [randomFulfillment(size, i % 4), randomFulfillment(size, (i + 1) % 4)]);
    expect(encodeFulfillBatchCalldata(selector, batch)).to.equal(iface.encodeFunctionData("fulfillBatch", [batch]));
  });

  it("round-trips through ethers' decoder for a batch of 200", () => {
    const batch = Array.from({ length: 200 }, (_, i) => randomFulfillment(i % 70, i % 3));
    const decoded = iface.decodeFunctionData("fulfillBatch", encodeFulfillBatchCalldata(selector, batch))[0] as { request: { id: bigint }; output: string }[];
    expect(decoded.length).to.equal(200);
    expect(decoded[123]!.request.id).to.equal(batch[123]!.request.id);
    expect(decoded[123]!.output).to.equal(batch[123]!.output);
  });
});
