import dcap from "@phala/dcap-qvl";
import { DstackClient } from "@phala/dstack-sdk";
import { Wallet, getBytes, hexlify } from "ethers";
import { measurementOf } from "../../../attestation/measurement.js";
import { trimQuotePadding } from "../../../attestation/quote-length.js";
import { reportDataField, reportDataFor } from "../../../protocol/attestation.js";
import { EnclaveError } from "../errors.js";
import type { Attestation } from "./enclave.js";
import { KeyHoldingEnclave } from "./key-holder.js";

export interface DstackEnclaveOptions {
  /** Guest agent endpoint (unix socket path or http URL); the SDK discovers the socket when omitted. */
  endpoint?: string;
  /** Key derivation path: the same app and path give the same key on every start. */
  keyPath: string;
}

/**
 * Enclave backed by a dstack CVM (Intel TDX). The key is derived by the guest agent from the app's
 * identity, so it is deterministic for this runtime and never exists outside the CVM; the quote's
 * report data binds that key to a chain and WorkerRegistry.
 */
export class DstackEnclave extends KeyHoldingEnclave {
  readonly simulated = false;
  readonly #client: DstackClient;

  private constructor(client: DstackClient, wallet: Wallet) {
    super(wallet);
    this.#client = client;
  }

  static async create(options: DstackEnclaveOptions): Promise<DstackEnclave> {
    let client: DstackClient;
    try {
      client = new DstackClient(options.endpoint);
    } catch (error) {
      throw new EnclaveError(`dstack guest agent unavailable: ${(error as Error).message}`, { cause: error });
    }
    let key: Uint8Array;
    try {
      key = (await client.getKey(options.keyPath, "phala-agent-worker enclave key", "secp256k1")).key;
    } catch (error) {
      throw new EnclaveError(`dstack key derivation failed: ${(error as Error).message}`, { cause: error });
    }
    if (key.length !== 32) throw new EnclaveError(`dstack returned a ${key.length}-byte key, expected 32`);
    return new DstackEnclave(client, new Wallet(hexlify(key)));
  }

  async attest(chainId: bigint, workerRegistry: string): Promise<Attestation> {
    const reportData = reportDataFor(this.address, chainId, workerRegistry);
    const field = reportDataField(reportData);
    let quoteHex: string;
    try {
      quoteHex = (await this.#client.getQuote(field)).quote;
    } catch (error) {
      throw new EnclaveError(`dstack quote failed: ${(error as Error).message}`, { cause: error });
    }
    // Canonical form: gatekeepers refuse bytes past the quote's declared length.
    const quote = trimQuotePadding(getBytes(quoteHex.startsWith("0x") ? quoteHex : `0x${quoteHex}`));
    const td = parseTdReport(quote);
    // A guest agent that quoted other report data would get the registration refused on-chain;
    // failing here says why.
    if (hexlify(td.reportData) !== hexlify(field)) {
      throw new EnclaveError("dstack quote does not carry the requested report data");
    }
    return {
      simulated: false,
      worker: this.address,
      publicKey: this.publicKey,
      measurement: tdxMeasurement(td),
      reportData,
      evidence: hexlify(quote),
    };
  }
}

type TdReport = NonNullable<ReturnType<InstanceType<typeof dcap.Report>["asTd10"]>>;

function parseTdReport(quote: Uint8Array): TdReport {
  let parsed: InstanceType<typeof dcap.Quote>;
  try {
    parsed = dcap.Quote.parse(quote);
  } catch (error) {
    throw new EnclaveError(`dstack returned an unparsable quote: ${(error as Error).message}`, { cause: error });
  }
  const td = parsed.report.asTd10() ?? parsed.report.asTd15()?.base ?? null;
  if (td === null) throw new EnclaveError("dstack returned a quote that is not a TDX quote");
  return td;
}

/** The measurement the gatekeepers compute for this quote (attestation/measurement.ts). */
export function tdxMeasurement(td: Pick<TdReport, "mrTd" | "rtMr0" | "rtMr1" | "rtMr2" | "rtMr3">): string {
  return measurementOf({
    tee: "tdx",
    mrTd: hexlify(td.mrTd),
    rtmr0: hexlify(td.rtMr0),
    rtmr1: hexlify(td.rtMr1),
    rtmr2: hexlify(td.rtMr2),
    rtmr3: hexlify(td.rtMr3),
  });
}
