import { expect } from "chai";
import { BaseError, causeOfType, errorMessage } from "../../protocol/errors.js";
import { byteLength, isHex, toHex } from "../../protocol/hex.js";

class LowLevel extends BaseError {
  constructor(details: string) {
    super("socket closed", "LOW_LEVEL", { details });
  }
}

class HighLevel extends BaseError {
  constructor(cause: unknown) {
    super("eth_call failed", "HIGH_LEVEL", { cause });
  }
}

describe("protocol/errors BaseError", () => {
  it("keeps a short message, a stable code, details and the class name apart", () => {
    const error = new LowLevel("ECONNRESET after 3 bytes");
    expect(error.shortMessage).to.equal("socket closed");
    expect(error.code).to.equal("LOW_LEVEL");
    expect(error.details).to.equal("ECONNRESET after 3 bytes");
    expect(error.message).to.equal("socket closed: ECONNRESET after 3 bytes");
    expect(error.name).to.equal("LowLevel");
  });

  it("takes its details from the cause and keeps the whole chain", () => {
    const root = new LowLevel("ECONNRESET");
    const error = new HighLevel(root);
    expect(error.message).to.equal("eth_call failed: socket closed: ECONNRESET");
    expect(error.cause).to.equal(root);
    expect(error.walk((e) => e instanceof LowLevel)).to.equal(root);
    expect(causeOfType(new HighLevel(new HighLevel(root)), LowLevel)).to.equal(root);
    expect(causeOfType(error, TypeError)).to.equal(undefined);
    expect(new HighLevel("plain string").details).to.equal("plain string");
  });

  it("describes anything thrown in one line", () => {
    expect(errorMessage(new Error("x"))).to.equal("x");
    expect(errorMessage(42)).to.equal("42");
  });
});

describe("protocol/hex", () => {
  it("accepts only 0x-prefixed even-length hex", () => {
    expect(isHex("0x")).to.equal(true);
    expect(isHex("0xAbCd")).to.equal(true);
    expect(isHex("0xabc")).to.equal(false);
    expect(isHex("abcd")).to.equal(false);
    expect(isHex("0xzz")).to.equal(false);
    expect(() => toHex("0x123")).to.throw(TypeError, /not 0x-prefixed even-length hex/);
    expect(byteLength(toHex("0x0102"))).to.equal(2);
  });
});
