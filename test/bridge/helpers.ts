import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { Interface, Wallet } from "ethers";
import { Bridge } from "../../bridge/src/bridge.js";
import { parseConfig, type BridgeConfigInput } from "../../bridge/src/config.js";
import { createLogger } from "../../bridge/src/logger.js";
import { DEV_ROLES, devKey } from "../../bridge/dev/accounts.js";
import { deployStack, type Stack, type StackOptions } from "../../bridge/dev/deploy.js";
import { FakeWorker } from "../../bridge/dev/fake-worker.js";
import { startLocalNode, type LocalNode, type LocalNodeOptions } from "../../bridge/dev/local-node.js";
import { ROUTER_ABI } from "../../bridge/src/chain/contracts.js";
import { REQUEST_GAS_MARGIN } from "../../protocol/request.js";

export interface Scenario {
  node: LocalNode;
  stack: Stack;
  workers: FakeWorker[];
  dir: string;
  bridgeConfig(overrides?: Partial<BridgeConfigInput>): ReturnType<typeof parseConfig>;
  startBridge(overrides?: Partial<BridgeConfigInput>, rpcUrl?: string): Promise<Bridge>;
  request(count: number, prefix?: string): Promise<void>;
  settledCounts(): Promise<{ fulfilled: Map<bigint, number>; timedOut: Map<bigint, number>; requested: bigint[] }>;
  stop(): Promise<void>;
}

export interface ScenarioOptions {
  workerCount?: number;
  /** Each worker registered by an operator of its own (backups are never drawn among the primary's operator's workers). */
  separateOperators?: boolean;
  node?: LocalNodeOptions;
  stack?: StackOptions;
}

/** Local chain + full stack + fake workers; bridges are created on demand and all stopped by `stop`. */
export async function startScenario(options: ScenarioOptions = {}): Promise<Scenario> {
  const node = await startLocalNode(options.node);
  const workers = Array.from({ length: options.workerCount ?? 1 }, () => new FakeWorker({ key: Wallet.createRandom().privateKey }));
  for (const w of workers) await w.listen();
  const stack = await deployStack(
    node.url,
    workers.map((w) => ({ key: w.options.key, endpoint: w.url, ...(options.separateOperators && { operatorKey: Wallet.createRandom().privateKey }) })),
    options.stack,
  );
  const dir = mkdtempSync(join(tmpdir(), "bridge-test-"));
  const bridges: Bridge[] = [];
  const iface = new Interface(ROUTER_ABI);

  const bridgeConfig = (overrides: Partial<BridgeConfigInput> = {}) =>
    parseConfig({
      rpcUrl: node.url,
      router: stack.addresses.router,
      workerRegistry: stack.addresses.workerRegistry,
      privateKey: devKey(DEV_ROLES.bridge),
      dbPath: join(dir, "bridge.sqlite"),
      confirmations: 0,
      pollIntervalMs: 50,
      dispatch: { timeoutMs: 2_000, backoffBaseMs: 100, backoffMaxMs: 1_000 },
      schedule: { sweep: "* * * * * *", retryStuck: "* * * * * *", attestation: "*/5 * * * * *" },
      http: { port: 0 },
      // BRIDGE_TEST_LOG=debug shows the bridges' logs while a test runs.
      logLevel: (process.env.BRIDGE_TEST_LOG as BridgeConfigInput["logLevel"]) ?? "silent",
      ...overrides,
    });

  return {
    node,
    stack,
    workers,
    dir,
    bridgeConfig,
    async startBridge(overrides = {}, rpcUrl) {
      const config = bridgeConfig({ ...overrides, ...(rpcUrl ? { rpcUrl } : {}) });
      const bridge = await Bridge.create(config, { logger: createLogger(config.logLevel) });
      bridges.push(bridge);
      await bridge.start();
      return bridge;
    },
    async request(count, prefix = "q") {
      const requestMany = stack.requester.getFunction("requestMany");
      // The worker draw follows prevrandao, which differs between the estimate and the transaction (protocol/request.ts).
      const gasLimit = ((await requestMany.estimateGas(prefix, count)) as bigint) + REQUEST_GAS_MARGIN * BigInt(count);
      const tx = (await requestMany(prefix, count, { gasLimit })) as { wait(): Promise<unknown> };
      await tx.wait();
    },
    async settledCounts() {
      const logs = await stack.provider.getLogs({ address: stack.addresses.router, fromBlock: 0, toBlock: "latest" });
      const fulfilled = new Map<bigint, number>();
      const timedOut = new Map<bigint, number>();
      const requested: bigint[] = [];
      for (const log of logs) {
        const parsed = iface.parseLog(log);
        if (!parsed) continue;
        const id = parsed.args.requestId as bigint;
        if (parsed.name === "AgentRequested") requested.push(id);
        if (parsed.name === "RequestFulfilled") fulfilled.set(id, (fulfilled.get(id) ?? 0) + 1);
        if (parsed.name === "RequestTimedOut") timedOut.set(id, (timedOut.get(id) ?? 0) + 1);
      }
      return { fulfilled, timedOut, requested };
    },
    async stop() {
      for (const bridge of bridges) await bridge.stop();
      for (const w of workers) await w.close();
      stack.provider.destroy();
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function waitFor(condition: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(50);
  }
}

/** Every requested id settled exactly once (fulfilled xor timed out). */
export function assertExactlyOnce(counts: Awaited<ReturnType<Scenario["settledCounts"]>>): { fulfilled: number; timedOut: number } {
  for (const id of counts.requested) {
    const f = counts.fulfilled.get(id) ?? 0;
    const t = counts.timedOut.get(id) ?? 0;
    if (f + t !== 1) throw new Error(`request ${id} settled ${f} times fulfilled and ${t} times timed out`);
  }
  return { fulfilled: counts.fulfilled.size, timedOut: counts.timedOut.size };
}
