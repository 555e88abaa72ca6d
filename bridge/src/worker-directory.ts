/** Where a worker (enclave key address) can be reached: primary endpoint first, then replicas. */
export interface WorkerDirectory {
  endpoints(worker: string): string[];
}

/** Endpoints from the bridge configuration (operators list their workers and replicas). */
export class StaticWorkerDirectory implements WorkerDirectory {
  private readonly byWorker: Map<string, string[]>;

  constructor(workers: Record<string, string[]>) {
    this.byWorker = new Map(Object.entries(workers).map(([worker, urls]) => [worker.toLowerCase(), urls.map((u) => u.replace(/\/+$/, ""))]));
  }

  endpoints(worker: string): string[] {
    return this.byWorker.get(worker.toLowerCase()) ?? [];
  }

  /** Adds or replaces a worker's endpoints (e.g. learned from a registry at start-up). */
  set(worker: string, urls: string[]): void {
    this.byWorker.set(
      worker.toLowerCase(),
      urls.map((u) => u.replace(/\/+$/, "")),
    );
  }
}

/**
 * Static endpoints (config) merged with endpoints announced on-chain: the on-chain endpoint is
 * tried first, then the configured ones (replicas of the same enclave key).
 */
export class LayeredWorkerDirectory implements WorkerDirectory {
  private announced = new Map<string, string>();

  constructor(private readonly configured: StaticWorkerDirectory) {}

  update(announced: Map<string, string>): void {
    this.announced = new Map([...announced].map(([worker, url]) => [worker.toLowerCase(), url.replace(/\/+$/, "")]));
  }

  endpoints(worker: string): string[] {
    const onChain = this.announced.get(worker.toLowerCase());
    const configured = this.configured.endpoints(worker);
    return onChain && !configured.includes(onChain) ? [onChain, ...configured] : configured;
  }
}
