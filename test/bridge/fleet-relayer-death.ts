import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { expect } from "chai";
import { Wallet, computeAddress } from "ethers";
import pg from "pg";
import { devKey } from "../../bridge/dev/accounts.js";
import { BridgeProcess } from "../../bridge/dev/bridge-process.js";
import { produce, requestIds, settlementReader, type ChaosOptions } from "../../bridge/dev/chaos.js";
import { deployStack } from "../../bridge/dev/deploy.js";
import { FakeWorker } from "../../bridge/dev/fake-worker.js";
import { FaultProxy } from "../../bridge/dev/fault-proxy.js";
import { RELAYER_ACCOUNTS } from "../../bridge/dev/fleet-chaos.js";
import { startLocalNode } from "../../bridge/dev/local-node.js";
import { postgresServer } from "../../bridge/dev/postgres-server.js";
import "./postgres.js"; // the run's Postgres server is stopped after the suite

/**
 * F5: a fleet instance dies for good (never restarts) holding fulfilments it created and sent that
 * will never be mined (its node swallowed them): transactions are per relayer key, so no other
 * instance may send them. Its requests must still be answered, by another instance, before their
 * deadline, once each, and only after the dead relayer's lease ran out.
 */
describe("bridge fleet: an instance that dies for good with unmined fulfilments (F5)", function () {
  this.timeout(180_000);

  it("another instance answers its requests before their deadline, once, after checking they are still pending", async () => {
    const REQUESTS = 12;
    const LEASE_MS = 2_000;
    const server = await postgresServer();
    const url = await server.createDatabase();
    const node = await startLocalNode({ blockTime: 1 });
    const worker = new FakeWorker({ key: Wallet.createRandom().privateKey });
    await worker.listen();
    const stack = await deployStack(node.url, [{ key: worker.options.key, endpoint: worker.url }], { requestTimeout: 120, funding: 10n ** 24n });
    // A's node accepts its transactions and never answers or forwards them: created, signed, stored, never mined.
    const swallow = new FaultProxy(node.url);
    swallow.rule = (calls) => (calls.some((c) => c.method === "eth_sendRawTransaction") ? "blackhole" : undefined);
    await swallow.listen();
    const dir = mkdtempSync(join(tmpdir(), "bridge-f5-"));
    const [keyA, keyB] = RELAYER_ACCOUNTS.slice(0, 2).map((account) => devKey(account));
    const instance = (name: string, rpcUrl: string, privateKey: string) => {
      mkdirSync(join(dir, name));
      return new BridgeProcess(join(dir, name), {
        rpcUrl,
        router: stack.addresses.router,
        workerRegistry: stack.addresses.workerRegistry,
        privateKey,
        store: { kind: "postgres", url, leaseMs: LEASE_MS },
        confirmations: 1,
        pollIntervalMs: 250,
        logLevel: "info",
        rpcTimeoutMs: 3_000,
      });
    };
    const a = instance("a", swallow.url, keyA!);
    const b = instance("b", node.url, keyB!);
    const db = new pg.Client({ connectionString: url });
    try {
      await a.start();
      await a.waitServing();
      await db.connect();
      const hashes = await produce(stack.requester, stack.provider, { requests: REQUESTS, perTx: REQUESTS, loadSeconds: 0 } as ChaosOptions, () => undefined);
      const ids = await requestIds(stack.router, stack.provider, hashes);
      expect(ids.size).to.equal(REQUESTS);
      const relayerA = computeAddress(keyA!).toLowerCase();
      const carriedByA = async () =>
        Number(
          (
            await db.query("SELECT COUNT(*) AS n FROM requests r JOIN transactions t ON t.id = r.fulfil_tx WHERE r.state = 'submitted' AND t.relayer = $1", [
              relayerA,
            ])
          ).rows[0].n,
        );
      const started = Date.now();
      while ((await carriedByA()) < REQUESTS) {
        expect(Date.now() - started).to.be.below(60_000, "A put every answer in a transaction");
        await sleep(250);
      }
      await a.kill("SIGKILL"); // for good: A never restarts
      const died = Date.now();
      await b.start();
      const settled = settlementReader(stack.router, stack.provider);
      let seen = await settled();
      while ([...ids.keys()].some((id) => !seen.has(id))) {
        expect(Date.now() - died, "answered well before the 120 s deadline").to.be.below(60_000);
        await sleep(500);
        seen = await settled();
      }
      const fulfilledAfterMs = Date.now() - died;
      for (const id of ids.keys()) expect(seen.get(id), `request ${id}`).to.deep.equal({ kind: "fulfilled", count: 1 });
      expect(fulfilledAfterMs).to.be.at.least(LEASE_MS, "not before A's lease ran out");
      // The answers are on chain; B records its transactions confirmed once their blocks are deep
      // enough, which can trail the settlement read above on a loaded machine.
      const transactionsByRelayer = async () =>
        (
          await db.query("SELECT relayer, state, COUNT(*) AS n FROM transactions WHERE kind = 'fulfill' GROUP BY relayer, state ORDER BY relayer, state")
        ).rows.map((r: { relayer: string; state: string; n: string }) => `${r.relayer === relayerA ? "A" : "B"} ${r.state} ${r.n}`);
      let rows = await transactionsByRelayer();
      for (const confirmedBy = Date.now() + 20_000; !rows.some((r) => r.startsWith("B confirmed")) && Date.now() < confirmedBy;) {
        await sleep(250);
        rows = await transactionsByRelayer();
      }
      expect(
        rows.some((r) => r.startsWith("B confirmed")),
        rows.join(", "),
      ).to.equal(true, "B carried them in its own transactions");
      expect(
        rows.filter((r) => r.startsWith("A ")).every((r) => r.startsWith("A abandoned")),
        rows.join(", "),
      ).to.equal(true, "A's were handed over");
    } finally {
      await db.end().catch(() => undefined);
      await Promise.all([a.stop(), b.stop()]);
      await worker.close();
      await swallow.close();
      stack.provider.destroy();
      await node.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
