import { computeAddress, getAddress, hexlify, SigningKey } from "ethers";
import { ClusterKeyring } from "../protocol/cluster-keyring.js";
import { openClusterKey, publicKeyOf } from "../protocol/confidential.js";
import { AttestResponse, type AttestRequestJson } from "./api.js";
import { encodeQuorumEvidence, recoverWorkerAttestationSigner, verifierDomain } from "./typed-data.js";

/** Worker-side failure to obtain a quorum attestation or cluster keys. */
export class ProvisioningError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ProvisioningError";
  }
}

export interface ProvisionOptions {
  /** Base URLs of the gatekeepers. */
  gatekeepers: string[];
  chainId: bigint;
  workerRegistry: string;
  /** GatekeeperQuorumVerifier address (to check each gatekeeper's signature locally). */
  quorumVerifier: string;
  /** The worker's enclave private key: opens the sealed cluster keys; never leaves the worker. */
  enclavePrivateKey: string;
  /** The worker's own attestation (its GET /attestation: simulated flag and evidence). */
  attestation: { simulated: boolean; evidence: string };
  /** DCAP collateral to send along (gatekeepers may have their own). */
  collateral?: AttestRequestJson["collateral"];
  /** Requested attestation expiry (unix seconds); all gatekeepers must sign the same value. */
  expiresAt: bigint;
  /** Keyring to fill (refresh); a new one is created otherwise. */
  keyring?: ClusterKeyring;
  /** Fail unless at least this many gatekeepers signed. */
  minSignatures?: number;
}

export interface Provisioned {
  /** Evidence for WorkerRegistry registration through GatekeeperQuorumVerifier. */
  evidence: string;
  measurement: string;
  tcbStatus: number;
  expiresAt: bigint;
  signers: string[];
  keyring: ClusterKeyring;
  /** Set when the gatekeepers signed but sent no keys: the worker is not registered and active yet. */
  keysWithheld?: string;
}

/**
 * Asks every gatekeeper to attest this worker, checks each signature, assembles the quorum evidence
 * and installs the cluster keys (sealed to the enclave key) into a ClusterKeyring. Call at start-up and
 * again periodically (or on KeyRegistry RotationProposed) to pick up pending epochs and grace windows.
 */
export async function provisionFromGatekeepers(options: ProvisionOptions): Promise<Provisioned> {
  const uncompressed = new SigningKey(options.enclavePrivateKey).publicKey;
  const worker = computeAddress(uncompressed);
  const body: AttestRequestJson = {
    chainId: options.chainId.toString(),
    workerRegistry: options.workerRegistry,
    worker,
    publicKey: uncompressed,
    simulated: options.attestation.simulated,
    evidence: options.attestation.evidence,
    collateral: options.collateral,
    expiresAt: options.expiresAt.toString(),
  };
  const errors: string[] = [];
  const responses: AttestResponse[] = [];
  await Promise.all(
    options.gatekeepers.map(async (url) => {
      try {
        const res = await fetch(new URL("/v1/attest", url), {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify(body),
        });
        const json = (await res.json()) as unknown;
        if (!res.ok) throw new Error((json as { error?: string }).error ?? `HTTP ${res.status}`);
        responses.push(AttestResponse.parse(json));
      } catch (error) {
        errors.push(`${url}: ${(error as Error).message}`);
      }
    }),
  );
  const first = responses[0];
  if (!first) throw new ProvisioningError(`no gatekeeper attested this worker (${errors.join("; ")})`);

  const domain = verifierDomain(options.chainId, options.quorumVerifier);
  const agreeing = responses.filter((r) => r.measurement === first.measurement && r.tcbStatus === first.tcbStatus && BigInt(r.expiresAt) === options.expiresAt);
  const signed = agreeing
    .map((r) => ({
      signer: recoverWorkerAttestationSigner(
        domain,
        { reportData: r.reportData, measurement: r.measurement, tcbStatus: r.tcbStatus, expiresAt: BigInt(r.expiresAt) },
        r.signature,
      ),
      claimed: getAddress(r.gatekeeper),
      signature: r.signature,
    }))
    .filter((s) => s.signer === s.claimed);
  if (signed.length < (options.minSignatures ?? 1)) {
    throw new ProvisioningError(`only ${signed.length} valid gatekeeper signatures (${errors.join("; ")})`);
  }

  const keyring = options.keyring ?? new ClusterKeyring();
  for (const key of first.keys) {
    const privateKey = openClusterKey(options.enclavePrivateKey, key.sealedPrivateKey, {
      chainId: options.chainId,
      workerRegistry: options.workerRegistry,
      worker,
      epoch: key.epoch,
    });
    if (hexlify(publicKeyOf(privateKey)) !== key.publicKey.toLowerCase()) {
      throw new ProvisioningError(`provisioned key of epoch ${key.epoch} does not match its published public key`);
    }
    keyring.add(key.epoch, privateKey, key.usableUntil);
    privateKey.fill(0);
  }
  return {
    evidence: encodeQuorumEvidence(
      { measurement: first.measurement, tcbStatus: first.tcbStatus, expiresAt: options.expiresAt },
      signed.map(({ signer, signature }) => ({ signer, signature })),
    ),
    measurement: first.measurement,
    tcbStatus: first.tcbStatus,
    expiresAt: options.expiresAt,
    signers: signed.map((s) => s.signer),
    keyring,
    ...(first.keysWithheld !== undefined && { keysWithheld: first.keysWithheld }),
  };
}
