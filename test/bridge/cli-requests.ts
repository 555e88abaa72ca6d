import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "chai";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import { SqliteStore } from "../../bridge/src/store/sqlite-store.js";

const TSX = join(dirname(createRequire(import.meta.url).resolve("tsx/package.json")), "dist", "cli.mjs");

describe("bridge CLI: requests", function () {
  this.timeout(60_000);

  it("lists the newest requests first, with deadlines as times", async function () {
    const dir = mkdtempSync(join(tmpdir(), "bridge-cli-"));
    const dbPath = join(dir, "bridge.sqlite");
    const chain = new SyntheticChain({ requests: 6, perBlock: 2 });
    const store = new SqliteStore(dbPath);
    await store.bind(31337n, chain.router);
    const events = await chain.routerEvents(0, 3);
    await store.applyScan({ ...events, blocks: [1, 2, 3].map((n) => ({ number: n, hash: chain.blocks[n]!.hash })), cursor: (await chain.block(3))! }, 256);
    await store.close();
    const config = join(dir, "bridge.json");
    writeFileSync(config, JSON.stringify({ rpcUrl: "http://127.0.0.1:1", router: chain.router, privateKey: `0x${"11".repeat(32)}`, dbPath }));

    const list = (...args: string[]) => {
      const run = spawnSync(process.execPath, [TSX, "bridge/cli.ts", "--config", config, "requests", ...args], { encoding: "utf8" });
      expect(run.status, run.stderr).to.equal(0);
      return JSON.parse(run.stdout) as { id: string; deadline: string }[];
    };
    const newest = list("-n", "3");
    expect(newest.map((r) => r.id)).to.deep.equal(["6", "5", "4"]);
    expect(newest[0]!.deadline).to.match(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z \((in \d+ s|\d+ s ago)\)$/);
    expect(list("--state", "seen", "-n", "10").map((r) => r.id)).to.deep.equal(["6", "5", "4", "3", "2", "1"]);
  });
});
