import { expect } from "chai";
import { Wallet, getBytes, hexlify, randomBytes, recoverAddress, toBeHex, zeroPadValue } from "ethers";
import { ecrecover } from "../../protocol/ecrecover.js";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const word = (value: bigint) => zeroPadValue(toBeHex(value), 32).slice(2);

describe("protocol/ecrecover (OpenZeppelin ECDSA.tryRecover rules)", () => {
  const wallet = Wallet.createRandom();
  const digest = randomBytes(32);
  const signature = wallet.signingKey.sign(digest);

  it("recovers the signer of many random digests exactly as ethers does", () => {
    for (let i = 0; i < 100; i++) {
      const key = Wallet.createRandom();
      const hash = randomBytes(32);
      const sig = key.signingKey.sign(hash).serialized;
      const result = ecrecover(hash, sig);
      expect(result).to.deep.equal({ signer: key.address.toLowerCase() });
      expect(recoverAddress(hash, sig)).to.equal(key.address);
    }
  });

  it("recovers someone else for another digest", () => {
    const other = randomBytes(32);
    const result = ecrecover(other, signature.serialized);
    expect(result).to.have.property("signer").that.is.not.equal(wallet.address.toLowerCase());
  });

  it("refuses lengths other than 65 bytes, including the 64-byte compact form", () => {
    expect(ecrecover(digest, signature.compactSerialized)).to.deep.equal({ error: "InvalidSignatureLength" });
    expect(ecrecover(digest, `${signature.serialized}00`)).to.deep.equal({ error: "InvalidSignatureLength" });
    expect(ecrecover(digest, "0x")).to.deep.equal({ error: "InvalidSignatureLength" });
    expect(ecrecover(digest, "not hex")).to.deep.equal({ error: "InvalidSignatureLength" });
  });

  it("refuses the malleable high-s twin of a valid signature", () => {
    const highS = N - BigInt(signature.s);
    const flippedV = signature.v === 27 ? 28 : 27;
    const twin = `0x${signature.r.slice(2)}${word(highS)}${flippedV.toString(16)}`;
    expect(ecrecover(digest, twin)).to.deep.equal({ error: "InvalidSignatureS" });
  });

  it("refuses v other than 27 or 28", () => {
    for (const v of [0, 1, 29, 255]) {
      const bytes = getBytes(signature.serialized);
      bytes[64] = v;
      expect(ecrecover(digest, hexlify(bytes))).to.deep.equal({ error: "InvalidSignature" });
    }
  });

  it("refuses r = 0, s = 0, r >= n and an r that is no curve point", () => {
    const v = signature.v.toString(16);
    const s = signature.s.slice(2);
    expect(ecrecover(digest, `0x${word(0n)}${s}${v}`)).to.deep.equal({ error: "InvalidSignature" });
    expect(ecrecover(digest, `0x${signature.r.slice(2)}${word(0n)}${v}`)).to.deep.equal({ error: "InvalidSignature" });
    expect(ecrecover(digest, `0x${word(N + 1n)}${s}${v}`)).to.deep.equal({ error: "InvalidSignature" });
    // x = 5 has no y on secp256k1 (5^3 + 7 = 132 is a non-residue mod p).
    expect(ecrecover(digest, `0x${word(5n)}${s}${v}`)).to.deep.equal({ error: "InvalidSignature" });
  });

  it("accepts s exactly n/2 and refuses n/2 + 1", () => {
    const half = N / 2n;
    const bytes = (sValue: bigint) => `0x${signature.r.slice(2)}${word(sValue)}${signature.v.toString(16)}`;
    expect(ecrecover(digest, bytes(half))).to.have.property("signer");
    expect(ecrecover(digest, bytes(half + 1n))).to.deep.equal({ error: "InvalidSignatureS" });
  });

  it("rejects a digest that is not 32 bytes", () => {
    expect(() => ecrecover(new Uint8Array(31), signature.serialized)).to.throw(RangeError);
  });
});
