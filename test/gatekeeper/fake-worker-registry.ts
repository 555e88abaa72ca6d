import type { WorkerRegistryView } from "../../gatekeeper/worker-registry.js";

const ZERO = `0x${"00".repeat(32)}`;

/** An in-memory WorkerRegistry view: approved measurements and active workers, changed by the test. */
export class FakeWorkerRegistry implements WorkerRegistryView {
  readonly approved = new Set<string>();
  readonly active = new Map<string, string>();

  approve(measurement: string): this {
    this.approved.add(measurement.toLowerCase());
    return this;
  }

  register(worker: string, measurement: string): this {
    this.active.set(worker.toLowerCase(), measurement.toLowerCase());
    return this;
  }

  async isMeasurementApproved(measurement: string): Promise<boolean> {
    return this.approved.has(measurement.toLowerCase());
  }

  async activeMeasurementOf(worker: string): Promise<string> {
    const measurement = this.active.get(worker.toLowerCase());
    return measurement !== undefined && this.approved.has(measurement) ? measurement : ZERO;
  }
}
