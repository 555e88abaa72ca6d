import { computeAddress, getAddress, getBytes, type Signer, type TypedDataDomain } from "ethers";
import type { Logger } from "pino";
import { AttestationError, type Collateral, verifyWorkerQuote } from "../attestation/index.js";
import { TCB_STATUS_CODES, type TcbPolicy } from "../attestation/tcb.js";
import { sealClusterKey } from "../protocol/confidential.js";
import { reportDataFor } from "../protocol/attestation.js";
import type { AttestRequest, AttestResponse, ProvisionedKey } from "./api.js";
import type { ClusterKeyDeriver } from "./cluster-key.js";
import type { EpochSource } from "./epochs.js";
import { AttestationRefusedError, BadRequestError } from "./errors.js";
import { verifySimulatedEvidence } from "./simulated.js";
import { signWorkerAttestation, verifierDomain } from "./typed-data.js";
import type { WorkerRegistryView } from "./worker-registry.js";

export interface AttestationServiceOptions {
  chainId: bigint;
  workerRegistry: string;
  quorumVerifier: string;
  signer: Signer;
  deriver: ClusterKeyDeriver;
  epochs: EpochSource;
  /** Governance's approved measurements and registered workers (WorkerRegistry). */
  workers: WorkerRegistryView;
  tcbPolicy: TcbPolicy;
  attestationValiditySeconds: number;
  simulatedQuoteMaxAgeSeconds: number;
  /** Collateral for DCAP requests that bring none. */
  defaultCollateral?: Collateral;
  logger: Logger;
  now?: () => number;
}

interface Verified {
  measurement: string;
  tcbStatusName: string;
  tcbStatus: number;
  advisoryIds: string[];
}

/**
 * Verifies a worker's evidence, signs its WorkerAttestation and seals the usable cluster keys to its
 * enclave key. Evidence proves which image runs, not that governance wants it to run: only a
 * measurement approved in WorkerRegistry is attested, and keys go only to a worker key registered
 * there with that measurement and active (not expired, jailed or revoked). A new worker therefore
 * attests, registers with the evidence, and gets its keys on its next round. Logs identify the
 * worker and outcome only: never keys, inputs or evidence contents.
 */
export class AttestationService {
  private readonly domain: TypedDataDomain;
  private readonly now: () => number;

  constructor(private readonly options: AttestationServiceOptions) {
    this.domain = verifierDomain(options.chainId, options.quorumVerifier);
    this.now = options.now ?? (() => Math.floor(Date.now() / 1000));
  }

  async attest(request: AttestRequest): Promise<AttestResponse> {
    const o = this.options;
    if (request.chainId !== o.chainId) throw new BadRequestError(`this gatekeeper serves chain ${o.chainId}, not ${request.chainId}`);
    if (getAddress(request.workerRegistry) !== getAddress(o.workerRegistry)) {
      throw new BadRequestError(`this gatekeeper serves WorkerRegistry ${o.workerRegistry}`);
    }
    let keyAddress: string;
    try {
      keyAddress = computeAddress(request.publicKey);
    } catch {
      throw new BadRequestError("publicKey is not a secp256k1 public key");
    }
    if (keyAddress !== getAddress(request.worker)) throw new BadRequestError("publicKey does not belong to worker");

    const now = this.now();
    const expiresAt = request.expiresAt ?? BigInt(now + o.attestationValiditySeconds);
    if (expiresAt <= BigInt(now) || expiresAt > BigInt(now + o.attestationValiditySeconds)) {
      throw new BadRequestError(`expiresAt must be within ${o.attestationValiditySeconds}s from now`);
    }

    const reportData = reportDataFor(request.worker, o.chainId, o.workerRegistry);
    const log = o.logger.child({ worker: request.worker, simulated: request.simulated });
    let verified: Verified;
    try {
      verified = request.simulated ? this.verifySimulated(reportData, request.evidence, now) : this.verifyDcap(request, now);
    } catch (error) {
      if (error instanceof AttestationError) {
        log.warn({ reason: error.name, message: error.message }, "attestation refused");
        throw new AttestationRefusedError(error.message, { cause: error });
      }
      throw error;
    }
    if (!(await o.workers.isMeasurementApproved(verified.measurement))) {
      log.warn({ measurement: verified.measurement }, "attestation refused: measurement not approved");
      throw new AttestationRefusedError(`measurement ${verified.measurement} is not approved in WorkerRegistry`);
    }

    const signature = await signWorkerAttestation(o.signer, this.domain, {
      reportData,
      measurement: verified.measurement,
      tcbStatus: verified.tcbStatus,
      expiresAt,
    });
    const active = await o.workers.activeMeasurementOf(request.worker);
    const keysWithheld =
      active.toLowerCase() === verified.measurement.toLowerCase()
        ? undefined
        : /^0x0{64}$/.test(active)
          ? "worker is not registered and active in WorkerRegistry"
          : "worker is registered with another measurement";
    const keys = keysWithheld === undefined ? await this.provision(request) : [];
    log.info({ measurement: verified.measurement, tcbStatus: verified.tcbStatusName, epochs: keys.map((k) => k.epoch), keysWithheld }, "attested");
    return {
      gatekeeper: await o.signer.getAddress(),
      simulated: request.simulated,
      reportData,
      measurement: verified.measurement,
      tcbStatus: verified.tcbStatus,
      tcbStatusName: verified.tcbStatusName,
      advisoryIds: verified.advisoryIds,
      expiresAt: expiresAt.toString(),
      signature,
      keys,
      ...(keysWithheld !== undefined && { keysWithheld }),
    };
  }

  private verifySimulated(reportData: string, evidence: string, now: number): Verified {
    const measurement = verifySimulatedEvidence({
      chainId: this.options.chainId,
      reportData,
      evidence,
      nowSeconds: now,
      maxAgeSeconds: this.options.simulatedQuoteMaxAgeSeconds,
    });
    // Nothing measured the platform: report UpToDate so dev chains run the whole flow.
    return { measurement, tcbStatus: TCB_STATUS_CODES.UpToDate, tcbStatusName: "UpToDate", advisoryIds: [] };
  }

  private verifyDcap(request: AttestRequest, now: number): Verified {
    const collateral = (request.collateral as Collateral | undefined) ?? this.options.defaultCollateral;
    if (!collateral) throw new BadRequestError("no collateral: send it with the request or configure collateralFile");
    const verified = verifyWorkerQuote({
      quote: getBytes(request.evidence),
      collateral,
      nowSeconds: now,
      policy: this.options.tcbPolicy,
      binding: { enclaveKey: request.worker, chainId: this.options.chainId, workerRegistry: this.options.workerRegistry },
    });
    return {
      measurement: verified.measurement,
      tcbStatus: verified.tcbStatusCode,
      tcbStatusName: verified.tcbStatus,
      advisoryIds: verified.advisoryIds,
    };
  }

  /** Seals the previous (in grace), current and pending cluster keys that match what KeyRegistry publishes. */
  private async provision(request: AttestRequest): Promise<ProvisionedKey[]> {
    const schedule = await this.options.epochs.schedule();
    const wanted: { epoch: number; publicKey: string; usableUntil: number | null }[] = [];
    if (schedule.previous) wanted.push(schedule.previous);
    if (schedule.current) wanted.push({ ...schedule.current, usableUntil: null });
    if (schedule.pending) wanted.push({ ...schedule.pending, usableUntil: null });
    const keys: ProvisionedKey[] = [];
    for (const entry of wanted) {
      if (this.options.deriver.publicKey(entry.epoch).toLowerCase() !== entry.publicKey.toLowerCase()) {
        // Another master key proposed this epoch: provisioning our key would make inputs undecryptable.
        this.options.logger.error({ epoch: entry.epoch }, "published cluster key does not match this gatekeeper's master key");
        continue;
      }
      const privateKey = this.options.deriver.privateKey(entry.epoch);
      try {
        keys.push({
          epoch: entry.epoch,
          publicKey: entry.publicKey,
          usableUntil: entry.usableUntil,
          sealedPrivateKey: sealClusterKey(request.publicKey, privateKey, {
            chainId: this.options.chainId,
            workerRegistry: this.options.workerRegistry,
            worker: request.worker,
            epoch: entry.epoch,
          }),
        });
      } finally {
        privateKey.fill(0);
      }
    }
    return keys;
  }
}
