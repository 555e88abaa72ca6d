import { readFileSync } from "node:fs";
import { expect } from "chai";
import dcap from "@phala/dcap-qvl";
import { AbiCoder, SigningKey, Wallet, computeAddress, getBytes, hexlify, keccak256, recoverAddress, toUtf8Bytes } from "ethers";
import { DEV_ATTESTATION_PRIVATE_KEY, SIMULATED_MEASUREMENT, reportDataField, reportDataFor, simulatedQuoteDigest } from "../../protocol/attestation.js";
import { verifyDcapQuote } from "../../attestation/dcap.js";
import { trimQuotePadding } from "../../attestation/quote-length.js";
import { DstackEnclave, tdxMeasurement } from "../../worker/src/enclave/dstack.js";
import { SimulatorEnclave } from "../../worker/src/enclave/simulator.js";
import { EnclaveError } from "../../worker/src/errors.js";
import { startServer, type TestServer } from "./helpers.js";

const REGISTRY = "0x00000000000000000000000000000000000000F1";
const FIXTURES = new URL("../fixtures/dcap/", import.meta.url);
const FIXTURE_QUOTE = readFileSync(new URL("tdx_quote", FIXTURES));
/** Header (48 bytes) + TD report 1.0 (584 bytes) whose last 64 bytes are the report data. */
const REPORT_DATA_OFFSET = 48 + 584 - 64;

describe("worker enclaves", () => {
  describe("simulator", () => {
    it("derives its key from the configured seed", () => {
      const seed = keccak256(toUtf8Bytes("seed"));
      expect(new SimulatorEnclave(seed).address).to.equal(new Wallet(seed).address);
      expect(new SimulatorEnclave().address).to.not.equal(new SimulatorEnclave().address);
    });

    it("produces SimulatedTeeVerifier evidence signed by the development key", async () => {
      const enclave = new SimulatorEnclave(keccak256(toUtf8Bytes("seed")), () => 1_800_000_000_500);
      const attestation = await enclave.attest(31337n, REGISTRY);
      expect(attestation.simulated).to.equal(true);
      expect(attestation.reportData).to.equal(reportDataFor(enclave.address, 31337n, REGISTRY));
      expect(attestation.measurement).to.equal(SIMULATED_MEASUREMENT);
      expect(computeAddress(attestation.publicKey)).to.equal(enclave.address);
      const [measurement, issuedAt, signature] = AbiCoder.defaultAbiCoder().decode(["bytes32", "uint64", "bytes"], attestation.evidence);
      expect(measurement).to.equal(SIMULATED_MEASUREMENT);
      expect(issuedAt).to.equal(1_800_000_000n);
      const digest = simulatedQuoteDigest(attestation.reportData, measurement, issuedAt);
      expect(recoverAddress(digest, signature)).to.equal(new Wallet(DEV_ATTESTATION_PRIVATE_KEY).address);
    });
  });

  describe("dstack (against a fake guest agent)", () => {
    let agent: TestServer;
    let quoteReportData: "echo" | "wrong" | "fail" = "echo";
    const derivedKey = keccak256(toUtf8Bytes("dstack-derived"));

    before(async () => {
      agent = await startServer((req, body, res) => {
        const payload = JSON.parse(body || "{}") as { path?: string; report_data?: string };
        res.setHeader("content-type", "application/json");
        if (req.url === "/GetKey") {
          // A real guest agent derives from app identity + path; the fake from the path only.
          const key = payload.path === "phala-agent-worker/enclave-key/v1" ? derivedKey : keccak256(toUtf8Bytes(payload.path ?? ""));
          res.end(JSON.stringify({ key: key.slice(2), signature_chain: [] }));
        } else if (req.url === "/GetQuote") {
          if (quoteReportData === "fail") return void res.end(JSON.stringify({ error: "tdx unavailable" }));
          const quote = Buffer.from(FIXTURE_QUOTE);
          const data = quoteReportData === "echo" ? Buffer.from(payload.report_data ?? "", "hex") : Buffer.alloc(64, 7);
          data.copy(quote, REPORT_DATA_OFFSET);
          res.end(JSON.stringify({ quote: quote.toString("hex"), event_log: "[]" }));
        } else {
          res.writeHead(404).end("{}");
        }
      });
    });
    after(() => agent.close());
    afterEach(() => (quoteReportData = "echo"));

    it("uses the key the guest agent derives for its key path", async () => {
      const enclave = await DstackEnclave.create({ endpoint: agent.url, keyPath: "phala-agent-worker/enclave-key/v1" });
      expect(enclave.simulated).to.equal(false);
      expect(enclave.address).to.equal(new Wallet(derivedKey).address);
      const again = await DstackEnclave.create({ endpoint: agent.url, keyPath: "phala-agent-worker/enclave-key/v1" });
      expect(again.address).to.equal(enclave.address);
      const getKey = agent.requests.find((r) => r.url === "/GetKey");
      expect(JSON.parse(getKey?.body ?? "{}").algorithm).to.equal("secp256k1");
    });

    it("asks for a quote over the 64-byte report data field and returns it as evidence", async () => {
      const enclave = await DstackEnclave.create({ endpoint: agent.url, keyPath: "phala-agent-worker/enclave-key/v1" });
      const attestation = await enclave.attest(8453n, REGISTRY);
      const expected = reportDataFor(enclave.address, 8453n, REGISTRY);
      expect(attestation.reportData).to.equal(expected);
      const asked = JSON.parse(agent.requests.filter((r) => r.url === "/GetQuote").at(-1)?.body ?? "{}");
      expect(`0x${asked.report_data}`).to.equal(hexlify(reportDataField(expected)));
      const quote = dcap.Quote.parse(getBytes(attestation.evidence));
      const td = quote.report.asTd10();
      expect(td).to.not.equal(null);
      expect(hexlify(td!.reportData)).to.equal(hexlify(reportDataField(expected)));
      expect(attestation.measurement).to.equal(tdxMeasurement(dcap.Quote.parse(FIXTURE_QUOTE).report.asTd10()!));
      expect(attestation.simulated).to.equal(false);
      // The fixture ends in 70 bytes of zero padding: the evidence is the quote's canonical form.
      expect(getBytes(attestation.evidence).byteLength).to.equal(FIXTURE_QUOTE.byteLength - 70);
    });

    it("reports the measurement the gatekeepers' DCAP verifier computes for the same quote", () => {
      const collateral = JSON.parse(readFileSync(new URL("tdx_quote_collateral.json", FIXTURES), "utf8"));
      const verified = verifyDcapQuote({ quote: trimQuotePadding(FIXTURE_QUOTE), collateral, nowSeconds: 1752919234 });
      expect(tdxMeasurement(dcap.Quote.parse(FIXTURE_QUOTE).report.asTd10()!)).to.equal(verified.measurement);
    });

    it("refuses a quote that does not carry the requested report data", async () => {
      const enclave = await DstackEnclave.create({ endpoint: agent.url, keyPath: "k" });
      quoteReportData = "wrong";
      let caught: unknown;
      await enclave.attest(1n, REGISTRY).catch((error: unknown) => (caught = error));
      expect(caught).to.be.instanceOf(EnclaveError);
      expect((caught as Error).message).to.match(/report data/);
    });

    it("reports a guest agent error or absence as EnclaveError", async () => {
      const enclave = await DstackEnclave.create({ endpoint: agent.url, keyPath: "k" });
      quoteReportData = "fail";
      let caught: unknown;
      await enclave.attest(1n, REGISTRY).catch((error: unknown) => (caught = error));
      expect(caught).to.be.instanceOf(EnclaveError);
      caught = undefined;
      await DstackEnclave.create({ endpoint: "/nonexistent/dstack.sock", keyPath: "k" }).catch((error: unknown) => (caught = error));
      expect(caught).to.be.instanceOf(EnclaveError);
    });

    it("never exposes the private key", async () => {
      const enclave = await DstackEnclave.create({ endpoint: agent.url, keyPath: "phala-agent-worker/enclave-key/v1" });
      const visible = JSON.stringify(enclave) + Object.keys(enclave).join() + Object.getOwnPropertyNames(enclave).join();
      expect(visible).to.not.include(derivedKey.slice(2));
      expect(new SigningKey(derivedKey).publicKey).to.equal(enclave.publicKey);
    });
  });
});
