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
    this.byWorker.set(worker.toLowerCase(), urls.map((u) => u.replace(/\/+$/, "")));
  }
}
