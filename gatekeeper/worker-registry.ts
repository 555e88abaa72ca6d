import { Contract, type ContractRunner } from "ethers";

/**
 * What governance decided about workers, read from WorkerRegistry: which images (measurements) may
 * run, and which enclave keys are registered, unexpired, not jailed and not revoked.
 */
export interface WorkerRegistryView {
  isMeasurementApproved(measurement: string): Promise<boolean>;
  /** The worker's measurement while it is active (registered, unexpired, approved, not jailed or revoked), else zero. */
  activeMeasurementOf(worker: string): Promise<string>;
}

export const WORKER_REGISTRY_VIEWS_ABI = [
  "function isMeasurementApproved(bytes32) view returns (bool)",
  "function activeMeasurementOf(address) view returns (bytes32)",
] as const;

/** Reads a deployed WorkerRegistry (read at every request: governance may revoke at any time). */
export class ChainWorkerRegistry implements WorkerRegistryView {
  readonly #contract: Contract;

  constructor(address: string, runner: ContractRunner) {
    this.#contract = new Contract(address, WORKER_REGISTRY_VIEWS_ABI, runner);
  }

  async isMeasurementApproved(measurement: string): Promise<boolean> {
    return (await this.#contract.getFunction("isMeasurementApproved").staticCall(measurement)) as boolean;
  }

  async activeMeasurementOf(worker: string): Promise<string> {
    return (await this.#contract.getFunction("activeMeasurementOf").staticCall(worker)) as string;
  }
}
