import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { expect } from "chai";
import { keccak256, toUtf8Bytes } from "ethers";
import { AgentStatus } from "../../protocol/status.js";
import { BundleStore } from "../../worker/src/bundle/cache.js";
import { BundleFetchError, UriBundleFetcher } from "../../worker/src/bundle/fetcher.js";
import { ExecutionFailure } from "../../worker/src/errors.js";
import { startServer, tempDir, type TestServer } from "./helpers.js";

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
      else if (req.url === "/endless.js") {
        // Sends forever without a length: only the size limit stops it.
        res.writeHead(200);
        const chunk = "x".repeat(256);
        const timer = setInterval(() => res.write(chunk), 1);
        res.on("close", () => clearInterval(timer));
      } else if (req.url === "/stall.js") {
        res.writeHead(200);
        res.write("var x = 1;");
      } else if (req.url === "/to-file") res.writeHead(302, { location: "file:///etc/passwd" }).end();
      else if (req.url === "/to-loopback") res.writeHead(302, { location: "http://127.0.0.2:1/agent.js" }).end();
      else if (req.url === "/to-agent") res.writeHead(302, { location: "/agent.js" }).end();
      else res.writeHead(404).end();
    });
  });
  after(() => server.close());

  // The test server is on loopback: this operator lists it explicitly (development).
  const fetcher = new UriBundleFetcher({ maxBytes: 1024, timeoutMs: 2000, allowPrivateHosts: ["127.0.0.1"] });

  async function refusal(uri: string, using = fetcher): Promise<string> {
    try {
      await using.fetch(uri);
    } catch (error) {
      expect(error, uri).to.be.instanceOf(BundleFetchError);
      return (error as Error).message;
    }
    throw new Error(`expected ${uri} to be refused`);
  }

  it("fetches http:// bundles and follows a checked redirect", async () => {
    expect(new TextDecoder().decode(await fetcher.fetch(`${server.url}/agent.js`))).to.equal(SOURCE);
    expect(new TextDecoder().decode(await fetcher.fetch(`${server.url}/to-agent`))).to.equal(SOURCE);
  });

  it("refuses HTTP errors, oversize bundles and other schemes", async () => {
    for (const uri of [`${server.url}/missing.js`, `${server.url}/big.js`, "ftp://example.com/a.js", "not a uri"]) await refusal(uri);
  });

  it("attack: the owner's URI cannot read local files, and errors say nothing about the filesystem", async () => {
    const dir = tempDir();
    const existing = join(dir, "secret.js");
    writeFileSync(existing, SOURCE);
    const fifo = join(dir, "pipe");
    execFileSync("mkfifo", [fifo]);
    const messages = [];
    for (const path of ["/dev/zero", fifo, existing, join(dir, "missing.js")]) {
      const started = Date.now();
      messages.push(await refusal(pathToFileURL(path).toString()));
      expect(Date.now() - started).to.be.lessThan(1000);
    }
    // Existing, missing, device and pipe: the same answer, naming no path and no hash.
    expect(new Set(messages).size).to.equal(1);
    expect(messages[0]).to.equal("unsupported bundle URI scheme file: (http and https only)");
    // Nor through a redirect.
    expect(await refusal(`${server.url}/to-file`)).to.equal("unsupported bundle URI scheme file: (http and https only)");
  });

  it("attack: no private or loopback hosts unless listed, directly or through a redirect", async () => {
    const strict = new UriBundleFetcher({ maxBytes: 1024, timeoutMs: 2000 });
    for (const uri of [
      `${server.url}/agent.js`,
      "http://localhost:1/a.js",
      "http://[::1]:1/a.js",
      "http://169.254.169.254/latest/meta-data",
      "http://10.0.0.1/a.js",
    ]) {
      expect(await refusal(uri, strict), uri).to.equal("bundle host is a private or loopback address");
    }
    expect(await refusal(`${server.url}/to-loopback`)).to.equal("bundle host is a private or loopback address");
  });

  it("attack: an endless or stalled body is cut by the size and time limits", async () => {
    const started = Date.now();
    expect(await refusal(`${server.url}/endless.js`)).to.equal("bundle exceeds 1024 bytes");
    const quick = new UriBundleFetcher({ maxBytes: 1024, timeoutMs: 300, allowPrivateHosts: ["127.0.0.1"] });
    expect(await refusal(`${server.url}/stall.js`, quick)).to.equal("bundle download timed out");
    expect(Date.now() - started).to.be.lessThan(3000);
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
