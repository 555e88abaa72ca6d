import { expect } from "chai";
import { Wallet, hexlify, randomBytes } from "ethers";
import { FulfillmentDigester, fulfillmentDigest, routerDomain, type FulfillmentMessage } from "../../protocol/fulfillment.js";

describe("protocol/fulfillment FulfillmentDigester", () => {
  const domain = routerDomain(31337n, Wallet.createRandom().address);
  const digester = new FulfillmentDigester(domain);

  const random = (subAgents: number): FulfillmentMessage => ({
    requestId: BigInt(hexlify(randomBytes(8))),
    requestHash: hexlify(randomBytes(32)),
    outputHash: hexlify(randomBytes(32)),
    status: Math.floor(Math.random() * 65_536),
    subAgentIds: Array.from({ length: subAgents }, () => BigInt(hexlify(randomBytes(32)))),
    subAgentPrices: Array.from({ length: subAgents }, () => BigInt(hexlify(randomBytes(12)))),
    worker: Wallet.createRandom().address,
  });

  it("hashes like ethers' TypedDataEncoder for random messages with 0-4 sub-agents", () => {
    for (let i = 0; i < 50; i++) {
      const message = random(i % 5);
      expect(hexlify(digester.digest(message))).to.equal(fulfillmentDigest(domain, message));
    }
  });

  it("does not depend on the case of the worker address", () => {
    const message = random(1);
    expect(hexlify(digester.digest({ ...message, worker: message.worker.toLowerCase() }))).to.equal(fulfillmentDigest(domain, message));
  });

  it("binds the domain: another router gives another digest", () => {
    const message = random(0);
    const other = new FulfillmentDigester(routerDomain(31337n, Wallet.createRandom().address));
    expect(hexlify(other.digest(message))).to.not.equal(hexlify(digester.digest(message)));
  });

  it("refuses malformed fields instead of hashing them", () => {
    const message = random(0);
    expect(() => digester.digest({ ...message, status: 65_536 })).to.throw(RangeError);
    expect(() => digester.digest({ ...message, requestId: -1n })).to.throw(RangeError);
    expect(() => digester.digest({ ...message, requestHash: "0x1234" })).to.throw(TypeError);
    expect(() => digester.digest({ ...message, worker: "0x1234" })).to.throw(TypeError);
    expect(() => digester.digest({ ...message, subAgentIds: [1n], subAgentPrices: [1n << 96n] })).to.throw(RangeError);
  });
});
