import { expect } from "chai";
import { readFileSync } from "node:fs";
import { Wallet, hexlify, keccak256, concat } from "ethers";
import {
  checkKeyBinding,
  HARDENING_TOLERANT_TCB_POLICY,
  KeyBindingError,
  measurementOf,
  QuoteVerificationError,
  STRICT_TCB_POLICY,
  TCB_STATUS_CODES,
  TcbStatusRejectedError,
  verifyDcapQuote,
  verifyWorkerQuote,
  trimQuotePadding,
  declaredQuoteLength,
  type Collateral,
} from "../../attestation/index.js";
import { reportDataField, reportDataFor } from "../../protocol/attestation.js";

const FIXTURES = new URL("../fixtures/dcap/", import.meta.url);
// The TDX fixture ends in 70 zero bytes of buffer padding: verify its canonical form.
const load = (name: "sgx" | "tdx") => ({
  quote: trimQuotePadding(new Uint8Array(readFileSync(new URL(`${name}_quote`, FIXTURES)))),
  collateral: JSON.parse(readFileSync(new URL(`${name}_quote_collateral.json`, FIXTURES), "utf8")) as Collateral,
});
// One second before the earliest nextUpdate of each collateral (see the fixtures' README).
const SGX_TIME = 1752919277;
const TDX_TIME = 1752919234;

const binding = {
  enclaveKey: Wallet.createRandom().address,
  chainId: 31337n,
  workerRegistry: "0x5FbDB2315678afecb367f032d93F642f64180aa3",
};

describe("attestation: DCAP quotes (real Intel fixtures)", () => {
  const sgx = load("sgx");
  const tdx = load("tdx");

  it("verifies the SGX quote: ConfigurationAndSWHardeningNeeded with its advisories, registers and measurement", () => {
    const verified = verifyDcapQuote({ ...sgx, nowSeconds: SGX_TIME, policy: HARDENING_TOLERANT_TCB_POLICY });
    expect(verified.tee).to.equal("sgx");
    expect(verified.tcbStatus).to.equal("ConfigurationAndSWHardeningNeeded");
    expect(verified.tcbStatusCode).to.equal(TCB_STATUS_CODES.ConfigurationAndSWHardeningNeeded);
    expect(verified.advisoryIds).to.deep.equal(["INTEL-SA-00289", "INTEL-SA-00615"]);
    const mrEnclave = "0x33d8736db756ed4997e04ba358d27833188f1932ff7b1d156904d3f560452fbb";
    const mrSigner = "0x815f42f11cf64430c30bab7816ba596a1da0130c3b028b673133a66cf9a3e0e6";
    expect(verified.registers).to.deep.equal({ tee: "sgx", mrEnclave, mrSigner });
    expect(verified.measurement).to.equal(keccak256(concat([mrEnclave, mrSigner])));
    const helloWorld = new Uint8Array(64);
    helloWorld.set(new TextEncoder().encode("Hello, world!"));
    expect(hexlify(verified.reportData)).to.equal(hexlify(helloWorld));
  });

  it("attack: a verification time of NaN or undefined does not skip the validity windows", () => {
    for (const nowSeconds of [Number.NaN, undefined, -1, 1.5, Number.POSITIVE_INFINITY]) {
      expect(() => verifyDcapQuote({ ...tdx, nowSeconds: nowSeconds as number }), String(nowSeconds)).to.throw(
        QuoteVerificationError,
        /verification time must be a non-negative integer/,
      );
    }
    // At a real time past the collateral's window the same quote is refused as expired, not UpToDate.
    expect(() => verifyDcapQuote({ ...tdx, nowSeconds: TDX_TIME + 400 * 86400 })).to.throw(QuoteVerificationError, /expired/);
  });

  it("attack: a quote with a byte cut off or bytes appended does not verify (exact declared length)", () => {
    for (const [name, fixture, time] of [
      ["sgx", sgx, SGX_TIME],
      ["tdx", tdx, TDX_TIME],
    ] as const) {
      expect(declaredQuoteLength(fixture.quote), name).to.equal(fixture.quote.byteLength);
      const policy = HARDENING_TOLERANT_TCB_POLICY;
      const cut = fixture.quote.subarray(0, fixture.quote.byteLength - 1);
      expect(() => verifyDcapQuote({ ...fixture, quote: cut, nowSeconds: time, policy }), `${name} cut`).to.throw(QuoteVerificationError, /declares/);
      for (const tail of [new Uint8Array(100).fill(0xab), new Uint8Array(100)]) {
        const longer = new Uint8Array([...fixture.quote, ...tail]);
        expect(() => verifyDcapQuote({ ...fixture, quote: longer, nowSeconds: time, policy }), `${name} +100`).to.throw(QuoteVerificationError, /declares/);
      }
      expect(() => verifyDcapQuote({ ...fixture, quote: fixture.quote.subarray(0, 40), nowSeconds: time, policy })).to.throw(
        QuoteVerificationError,
        /truncated/,
      );
      // The canonical quote still verifies.
      expect(verifyDcapQuote({ ...fixture, nowSeconds: time, policy }).tee).to.equal(name);
    }
  });

  it("refuses the SGX quote under the strict policy", () => {
    expect(() => verifyDcapQuote({ ...sgx, nowSeconds: SGX_TIME, policy: STRICT_TCB_POLICY })).to.throw(
      TcbStatusRejectedError,
      /ConfigurationAndSWHardeningNeeded.*INTEL-SA-00289/,
    );
  });

  it("verifies the TDX quote: UpToDate, mr_td and the five-register measurement", () => {
    const verified = verifyDcapQuote({ ...tdx, nowSeconds: TDX_TIME });
    expect(verified.tee).to.equal("tdx");
    expect(verified.tcbStatus).to.equal("UpToDate");
    expect(verified.tcbStatusCode).to.equal(0);
    expect(verified.advisoryIds).to.deep.equal([]);
    if (verified.registers.tee !== "tdx") throw new Error("expected TDX registers");
    expect(verified.registers.mrTd).to.equal("0x91eb2b44d141d4ece09f0c75c2c53d247a3c68edd7fafe8a3520c942a604a407de03ae6dc5f87f27428b2538873118b7");
    const r = verified.registers;
    for (const reg of [r.rtmr0, r.rtmr1, r.rtmr2, r.rtmr3]) expect(reg).to.match(/^0x[0-9a-f]{96}$/);
    expect(verified.measurement).to.equal(keccak256(concat([r.mrTd, r.rtmr0, r.rtmr1, r.rtmr2, r.rtmr3])));
    expect(verified.measurement).to.equal(measurementOf(r));
    expect(verified.reportData.length).to.equal(64);
  });

  it("refuses expired collateral at the current time", () => {
    const now = Math.floor(Date.now() / 1000);
    expect(() => verifyDcapQuote({ ...tdx, nowSeconds: now })).to.throw(QuoteVerificationError, "TCBInfo expired");
    expect(() => verifyDcapQuote({ ...sgx, nowSeconds: now, policy: HARDENING_TOLERANT_TCB_POLICY })).to.throw(QuoteVerificationError, "TCBInfo expired");
  });

  it("refuses collateral whose issue date is in the future", () => {
    expect(() => verifyDcapQuote({ ...tdx, nowSeconds: 1_600_000_000 })).to.throw(QuoteVerificationError, "TCBInfo issue date is in the future");
  });

  it("refuses a tampered quote", () => {
    for (const [fixture, time, offset] of [
      [tdx, TDX_TIME, 200], // inside the TD report (an RTMR)
      [sgx, SGX_TIME, 100], // inside the enclave report
    ] as const) {
      const tampered = Uint8Array.from(fixture.quote);
      tampered[offset]! ^= 0x01;
      expect(() => verifyDcapQuote({ ...fixture, quote: tampered, nowSeconds: time, policy: HARDENING_TOLERANT_TCB_POLICY })).to.throw(
        QuoteVerificationError,
        /signature is invalid/,
      );
    }
  });

  it("refuses tampered report data (the binding cannot be forged into a real quote)", () => {
    const tampered = Uint8Array.from(tdx.quote);
    const reportDataOffset = 48 + 520; // header + TD report fields before report_data
    tampered.set(reportDataField(reportDataFor(binding.enclaveKey, binding.chainId, binding.workerRegistry)), reportDataOffset);
    expect(() => verifyDcapQuote({ ...tdx, quote: tampered, nowSeconds: TDX_TIME })).to.throw(QuoteVerificationError);
  });

  it("refuses both real quotes at the key-binding step: their report data does not bind our key", () => {
    expect(() => verifyWorkerQuote({ ...tdx, nowSeconds: TDX_TIME, binding })).to.throw(KeyBindingError);
    expect(() => verifyWorkerQuote({ ...sgx, nowSeconds: SGX_TIME, policy: HARDENING_TOLERANT_TCB_POLICY, binding })).to.throw(
      KeyBindingError,
      /does not bind/,
    );
  });

  it("refuses garbage", () => {
    expect(() => verifyDcapQuote({ ...tdx, quote: new Uint8Array(10), nowSeconds: TDX_TIME })).to.throw(QuoteVerificationError);
  });
});

describe("attestation: key binding", () => {
  it("accepts report data built for the key, chain and registry, and returns the 32-byte value", () => {
    const reportData = reportDataFor(binding.enclaveKey, binding.chainId, binding.workerRegistry);
    expect(checkKeyBinding(reportDataField(reportData), binding)).to.equal(reportData);
  });

  it("refuses another chain, another registry or another key", () => {
    const field = reportDataField(reportDataFor(binding.enclaveKey, binding.chainId, binding.workerRegistry));
    expect(() => checkKeyBinding(field, { ...binding, chainId: 1n })).to.throw(KeyBindingError);
    expect(() => checkKeyBinding(field, { ...binding, workerRegistry: Wallet.createRandom().address })).to.throw(KeyBindingError);
    expect(() => checkKeyBinding(field, { ...binding, enclaveKey: Wallet.createRandom().address })).to.throw(KeyBindingError);
  });

  it("refuses a non-zero second half of the report data", () => {
    const field = reportDataField(reportDataFor(binding.enclaveKey, binding.chainId, binding.workerRegistry));
    field[63] = 1;
    expect(() => checkKeyBinding(field, binding)).to.throw(KeyBindingError);
  });
});
