import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, mkdirSync, openSync, renameSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import type { BridgeConfigInput } from "../src/config.js";
import { freePort } from "./local-node.js";

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Inside the repository, so the bundle's bare imports resolve from its node_modules. */
const BUNDLE_DIR = join(ROOT, "node_modules", ".cache", "bridge-process");

let bundled: Promise<string> | undefined;

/**
 * The CLI compiled into one ES module, once per test process, as a deployment runs built code: a
 * start then loads one file instead of transpiling every source file through tsx (about half the
 * start-up CPU, which a chaos run pays at every restart). Packages stay external.
 */
function cliBundle(): Promise<string> {
  bundled ??= (async () => {
    mkdirSync(BUNDLE_DIR, { recursive: true });
    const target = join(BUNDLE_DIR, "cli.mjs");
    const staging = join(BUNDLE_DIR, `cli.${process.pid}.mjs`);
    await build({
      entryPoints: [join(ROOT, "bridge", "cli.ts")],
      bundle: true,
      platform: "node",
      format: "esm",
      packages: "external",
      outfile: staging,
      logLevel: "warning",
    });
    renameSync(staging, target); // atomic: a concurrent test process never runs a half-written file
    return target;
  })();
  return bundled;
}

/**
 * `bridge start` in a child process, the way an operator runs it (the CLI, a config file, its SQLite
 * file), for tests and the chaos run: it can be SIGKILLed and started again on the same store. Its
 * JSON log lines go straight to `logPath` (appended across restarts), as under a supervisor: not
 * through a pipe to this process, whose fill would block the bridge's synchronous log writes
 * whenever this process (which also runs the fault proxy and the workers) is slow to read.
 */
export class BridgeProcess {
  private child?: ChildProcess;
  private exited?: Promise<void>;
  readonly configPath: string;
  port = 0;
  starts = 0;

  constructor(
    readonly dir: string,
    private readonly config: BridgeConfigInput,
    readonly logPath = join(dir, "bridge.log"),
    /** Extra node arguments (a benchmark's --cpu-prof). */
    private readonly nodeArgs: string[] = [],
  ) {
    this.configPath = join(dir, "bridge.json");
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  async start(): Promise<void> {
    if (this.running) return;
    this.port ||= await freePort();
    writeFileSync(this.configPath, JSON.stringify({ ...this.config, http: { ...this.config.http, port: this.port } }));
    const cli = await cliBundle();
    const log = openSync(this.logPath, "a");
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [...this.nodeArgs, cli, "--config", this.configPath, "start"], {
        cwd: ROOT,
        stdio: ["ignore", log, log],
      });
    } finally {
      closeSync(log);
    }
    this.exited = new Promise((resolve) => child.once("exit", () => resolve()));
    this.child = child;
    this.starts++;
  }

  /** GET an HTTP endpoint of the running bridge (undefined while it is not answering). */
  async get<T>(path: string, timeoutMs = 2_000): Promise<{ status: number; body: T } | undefined> {
    try {
      const response = await fetch(`http://127.0.0.1:${this.port}${path}`, { signal: AbortSignal.timeout(timeoutMs) });
      return { status: response.status, body: (await response.json()) as T };
    } catch {
      return undefined;
    }
  }

  /** Waits until /healthz answers at all (200 or 503): the process is up and serving. */
  async waitServing(timeoutMs = 60_000): Promise<void> {
    const started = Date.now();
    while (!(await this.get("/healthz"))) {
      if (!this.running) throw new Error(`bridge exited during start-up (see ${this.logPath})`);
      if (Date.now() - started > timeoutMs) throw new Error(`bridge did not serve /healthz within ${timeoutMs} ms`);
      await sleep(100);
    }
  }

  /** Sends `signal` (SIGKILL: a crash, no clean-up) and waits for the exit. */
  async kill(signal: NodeJS.Signals = "SIGKILL"): Promise<void> {
    if (!this.running) return;
    this.child!.kill(signal);
    await this.exited;
  }

  async stop(): Promise<void> {
    await this.kill("SIGTERM");
  }
}
