import { expect } from "chai";
import { Interface, Wallet, hexlify, randomBytes } from "ethers";
import type { Fulfillment } from "../../bridge/src/chain/chain-client.js";
import { encodeFulfillBatchCalldata } from "../../bridge/src/chain/fulfill-calldata.js";
import { ROUTER_ABI } from "../../bridge/src/chain/contracts.js";
import type { Hex } from "../../protocol/hex.js";
import type { AgentRequest } from "../../protocol/request.js";

const iface = new Interface(ROUTER_ABI);
const selector = iface.getFunction("fulfillBatch")!.selector;
const uint = (bits: number) => BigInt(hexlify(randomBytes(bits / 8)));

function randomRequest(): AgentRequest {
  return {
    id: uint(256),
    agentId: uint(256),
    consumer: Wallet.createRandom().address,
    accountId: uint(64),
    worker: Wallet.createRandom().address.toLowerCase(),
    agentVersion: uint(32),
    keyEpoch: uint(32),
    callbackGasLimit: uint(32),
    agentOwner: Wallet.createRandom().address,
    agentPrice: uint(96),
    maxFee: uint(96),
    deadline: uint(64),
    codeHash: hexlify(randomBytes(32)),
    inputHash: hexlify(randomBytes(32)),
    configVersion: uint(16),
    capacityFee: uint(96),
  };
}

function randomFulfillment(outputBytes: number, subAgents: number): Fulfillment {
  return {
    request: randomRequest(),
    status: Number(uint(16) & 0xffffn),
    output: hexlify(randomBytes(outputBytes)) as Hex,
    subAgentIds: Array.from({ length: subAgents }, () => uint(256)),
    subAgentPrices: Array.from({ length: subAgents }, () => uint(96)),
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
