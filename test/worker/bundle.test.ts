import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { AgentStatus } from "../../protocol/status.js";
import { BundleStore } from "../../worker/src/bundle/cache.js";
import { BundleFetchError, UriBundleFetcher } from "../../worker/src/bundle/fetcher.js";
import { ExecutionFailure } from "../../worker/src/errors.js";
import { startServer, tempDir, writeBundle, type TestServer } from "./helpers.js";

const SOURCE = `var __agent = { default: () => "bundled" };`;
const HASH = keccak256(toUtf8Bytes(SOURCE));

async function failure(promise: Promise<unknown>): Promise<ExecutionFailure> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ExecutionFailure) return error;
    throw error;
  }
  throw new Error("expected a failure");
}

describe("worker bundles", () => {
  let server: TestServer;
  before(async () => {
    server = await startServer((req, _body, res) => {
      if (req.url === "/agent.js") res.writeHead(200).end(SOURCE);
      else if (req.url === "/big.js") res.writeHead(200).end("x".repeat(5000));
      else res.writeHead(404).end();
    });
  });
  after(() => server.close());

  const fetcher = new UriBundleFetcher(1024, 2000);

  it("fetches file:// and http:// bundles", async () => {
    const { uri } = writeBundle(tempDir(), "a.js", SOURCE);
    expect(new TextDecoder().decode(await fetcher.fetch(uri))).to.equal(SOURCE);
    expect(new TextDecoder().decode(await fetcher.fetch(`${server.url}/agent.js`))).to.equal(SOURCE);
  });

  it("refuses missing files, HTTP errors, oversize bundles and other schemes", async () => {
    const cases = [
      pathToFileURL(join(tempDir(), "nope.js")).toString(),
      `${server.url}/missing.js`,
      `${server.url}/big.js`,
      "ftp://example.com/a.js",
      "not a uri",
    ];
    for (const uri of cases) {
      let caught: unknown;
      try {
        await fetcher.fetch(uri);
      } catch (error) {
        caught = error;
      }
      expect(caught, uri).to.be.instanceOf(BundleFetchError);
    }
  });

  it("caches verified bundles by code hash", async () => {
    const tiers: string[] = [];
    const store = new BundleStore(fetcher, { maxEntries: 4, onHit: (tier) => tiers.push(tier) });
    const fetchesBefore = server.requests.filter((r) => r.url === "/agent.js").length;
    const first = await store.get(HASH, `${server.url}/agent.js`);
    const second = await store.get(HASH, `${server.url}/agent.js`);
    expect(first.source).to.equal(SOURCE);
    expect(second).to.equal(first);
    expect(tiers).to.deep.equal(["fetch", "memory"]);
    expect(server.requests.filter((r) => r.url === "/agent.js")).to.have.length(fetchesBefore + 1);
  });

  it("fails with CODE_HASH_MISMATCH and caches nothing when the bytes do not match", async () => {
    const store = new BundleStore(fetcher, { maxEntries: 4 });
    const wrong = keccak256(toUtf8Bytes("something else"));
    const error = await failure(store.get(wrong, `${server.url}/agent.js`));
    expect(error.status).to.equal(AgentStatus.CODE_HASH_MISMATCH);
    expect((await failure(store.get(wrong, `${server.url}/agent.js`))).status).to.equal(AgentStatus.CODE_HASH_MISMATCH);
  });

  it("fails with BUNDLE_UNAVAILABLE when the URI cannot be fetched", async () => {
    const store = new BundleStore(fetcher, { maxEntries: 4 });
    expect((await failure(store.get(HASH, `${server.url}/missing.js`))).status).to.equal(AgentStatus.BUNDLE_UNAVAILABLE);
  });

  it("serves the disk cache and ignores a tampered cache file", async () => {
    const dir = tempDir();
    const tiers: string[] = [];
    const options = { maxEntries: 4, dir, onHit: (tier: string) => tiers.push(tier) };
    await new BundleStore(fetcher, options).get(HASH, `${server.url}/agent.js`);
    await new BundleStore(fetcher, options).get(HASH, `${server.url}/agent.js`);
    writeFileSync(join(dir, `${HASH}.js`), `var __agent = { default: () => "evil" };`);
    const reloaded = await new BundleStore(fetcher, options).get(HASH, `${server.url}/agent.js`);
    expect(reloaded.source).to.equal(SOURCE);
    expect(tiers).to.deep.equal(["fetch", "disk", "fetch"]);
  });
});
