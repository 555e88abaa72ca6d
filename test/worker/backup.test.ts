import { join } from "node:path";
import { expect } from "chai";
import { Interface, Wallet, keccak256, makeError, toUtf8Bytes, verifyTypedData } from "ethers";
import { FULFILLMENT_TYPES, routerDomain } from "../../protocol/fulfillment.js";
import { agentRequestToJson, requestHash, type AgentRequest } from "../../protocol/request.js";
import { ExecuteResponse, WORKER_ERRORS, type ExecuteRequest } from "../../protocol/worker-api.js";
import { startWorker, type RunningWorker } from "../../worker/src/app.js";
import { ChainRequestCommitments, ROUTER_COMMITMENT_ABI } from "../../worker/src/commitments.js";
import { parseConfig } from "../../worker/src/config.js";
import { InMemoryAgentDirectory } from "../../worker/src/directory.js";
import { SimulatorEnclave } from "../../worker/src/enclave/simulator.js";
import { RequestRejected } from "../../worker/src/errors.js";
import { BUNDLE_STORE, FakeCommitments, OWNER, WORKER_ADDRESS, WORKER_KEY, bundleOf, makeRequest, silentLogger, tempDir, writeBundle } from "./helpers.js";

const ROUTER = "0x00000000000000000000000000000000000000B0";
const CHAIN_ID = 31337n;
const PRIMARY = new Wallet(keccak256(toUtf8Bytes("the primary"))).address;
const OTHER = new Wallet(keccak256(toUtf8Bytes("another backup"))).address;
const router = new Interface(ROUTER_COMMITMENT_ABI);

async function refusal(promise: Promise<unknown>): Promise<RequestRejected> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(RequestRejected);
    return error as RequestRejected;
  }
  throw new Error("expected a refusal");
}

/** A router whose backupWorker the test scripts; counts reads. */
function fakeRouter() {
  const chain = {
    time: 1_000n,
    backup: { worker: WORKER_ADDRESS, opensAt: 1_000n } as { worker: string; opensAt: bigint } | { revert: string; args: unknown[] },
    calls: 0,
    down: false,
  };
  const provider = {
    getBlock: async () => {
      chain.calls += 1;
      if (chain.down) throw new Error("rpc down");
      return { number: 100, timestamp: Number(chain.time) };
    },
    call: async (tx: { data: string }) => {
      chain.calls += 1;
      const parsed = router.parseTransaction({ data: tx.data })!;
      expect(parsed.name).to.equal("backupWorker");
      const backup = chain.backup;
      if ("revert" in backup) throw makeError("execution reverted", "CALL_EXCEPTION", { data: router.encodeErrorResult(backup.revert, backup.args) } as never);
      return router.encodeFunctionResult("backupWorker", [backup.worker, backup.opensAt]);
    },
  };
  return { chain, runner: { provider, call: provider.call } as never };
}

describe("worker: backup dispatches", () => {
  describe("the router check (ChainRequestCommitments.requireBackup)", () => {
    const request = makeRequest({ id: 5n, worker: PRIMARY, deadline: 2_000n });
    const hash = requestHash(request);
    const clock = () => 1_000_000;

    it("accepts only when backupWorker(request, rank) is this worker and its window is open at the latest block's time; remembers it", async () => {
      const { chain, runner } = fakeRouter();
      const commitments = new ChainRequestCommitments(runner, ROUTER, clock);
      chain.backup = { worker: WORKER_ADDRESS, opensAt: 1_001n };
      const early = await refusal(commitments.requireBackup(request, hash, 1n, WORKER_ADDRESS));
      expect([early.httpStatus, early.code, WORKER_ERRORS.BACKUP_WINDOW_NOT_OPEN.retryable]).to.deep.equal([425, "BACKUP_WINDOW_NOT_OPEN", true]);
      expect(early.message).to.equal("backup 1 of request 5 may answer from 1001; chain time is 1000");
      chain.time = 1_001n;
      await commitments.requireBackup(request, hash, 1n, WORKER_ADDRESS);
      const calls = chain.calls;
      await commitments.requireBackup(request, hash, 1n, WORKER_ADDRESS);
      expect(chain.calls).to.equal(calls, "an open window stays open until the deadline: no second read");
    });

    it("attack: a bridge (or anyone) asks a worker that is not the drawn backup: refused for good (NOT_BACKUP)", async () => {
      const { chain, runner } = fakeRouter();
      const commitments = new ChainRequestCommitments(runner, ROUTER, clock);
      chain.backup = { worker: OTHER, opensAt: 0n };
      const refused = await refusal(commitments.requireBackup(request, hash, 1n, WORKER_ADDRESS));
      expect([refused.httpStatus, refused.code]).to.deep.equal([409, "NOT_BACKUP"]);
      expect(refused.message).to.equal(`backup 1 of request 5 is ${OTHER}, not this worker ${WORKER_ADDRESS}`);
      chain.backup = { revert: "NoBackup", args: [5n, 3n] };
      expect((await refusal(commitments.requireBackup(request, hash, 3n, WORKER_ADDRESS))).code).to.equal("NOT_BACKUP");
    });

    it("refuses a request no longer pending (the view reverts) for good, and says CHAIN_UNAVAILABLE while its RPC is down", async () => {
      const { chain, runner } = fakeRouter();
      const commitments = new ChainRequestCommitments(runner, ROUTER, clock);
      chain.backup = { revert: "RequestNotPending", args: [5n] };
      const settled = await refusal(commitments.requireBackup(request, hash, 1n, WORKER_ADDRESS));
      expect([settled.httpStatus, settled.code]).to.deep.equal([409, "REQUEST_NOT_PENDING"]);
      chain.down = true;
      const down = await refusal(commitments.requireBackup(request, hash, 1n, WORKER_ADDRESS));
      expect([down.httpStatus, down.code]).to.deep.equal([503, "CHAIN_UNAVAILABLE"]);
    });
  });

  describe("POST /v1/execute with backupRank (end to end on loopback)", function () {
    this.timeout(30_000);
    const dir = tempDir();
    const directory = new InMemoryAgentDirectory();
    const commitments = new FakeCommitments(ROUTER);
    let worker: RunningWorker;
    let echoHash: string;

    before(async () => {
      const echo = writeBundle(dir, "echo.js", bundleOf(`(input) => "echo:" + input`));
      echoHash = echo.codeHash;
      directory.set(1n, { owner: OWNER, price: 10n, versions: [{ codeHash: echo.codeHash, uri: echo.uri }] });
      worker = await startWorker(
        parseConfig({
          port: 0,
          chainId: String(CHAIN_ID),
          workerRegistry: "0x00000000000000000000000000000000000000F1",
          router: ROUTER,
          rpcUrl: "http://127.0.0.1:1",
          enclave: { kind: "simulator", seed: WORKER_KEY },
          directory: { kind: "file", path: "/unused" },
          limits: { wallTimeMs: 1000, memoryBytes: 16 * 1024 * 1024 },
          answerLogPath: join(dir, "answers.jsonl"),
          bundleCacheDir: BUNDLE_STORE,
        }),
        { directory, commitments, enclave: new SimulatorEnclave(WORKER_KEY), logger: silentLogger, sandboxThreads: 1 },
      );
    });
    after(() => worker.close());

    const executions = async () => {
      const text = await (await fetch(`${worker.url}/metrics`)).text();
      return [...text.matchAll(/^worker_executions_total\{[^}]*\} (\d+)/gm)].reduce((sum, m) => sum + Number(m[1]), 0);
    };

    function requestFor(id: bigint, input: string, overrides: Partial<AgentRequest> = {}): AgentRequest {
      return commitments.commit(makeRequest({ id, worker: PRIMARY, codeHash: echoHash, inputHash: keccak256(toUtf8Bytes(input)), ...overrides }));
    }

    async function post(request: AgentRequest, input: string, backupRank?: string): Promise<{ status: number; json: Record<string, unknown> }> {
      const body: ExecuteRequest = {
        chainId: String(CHAIN_ID),
        router: ROUTER,
        request: agentRequestToJson(request),
        input: `0x${Buffer.from(input).toString("hex")}`,
        ...(backupRank !== undefined && { backupRank }),
      };
      const response = await fetch(`${worker.url}/v1/execute`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      return { status: response.status, json: (await response.json()) as Record<string, unknown> };
    }

    it("runs nothing before its window opens (no duplicate work on the happy path), then answers signed as itself", async () => {
      const request = requestFor(200n, "hi");
      commitments.setBackup(request, 1n, WORKER_ADDRESS, 1_500n);
      commitments.chainTime = 1_499n;
      const before = await executions();
      const early = await post(request, "hi", "1");
      expect([early.status, early.json.error]).to.deep.equal([425, "BACKUP_WINDOW_NOT_OPEN"]);
      expect(await executions()).to.equal(before, "the agent did not run");
      commitments.chainTime = 1_500n;
      const { status, json } = await post(request, "hi", "1");
      expect(status).to.equal(200);
      const answer = ExecuteResponse.parse(json);
      expect(answer.worker).to.equal(WORKER_ADDRESS);
      expect(await executions()).to.equal(before + 1);
      // The signed struct names the backup, not the request's primary: what fulfillAsBackup verifies.
      const message = {
        requestId: request.id,
        requestHash: requestHash(request),
        outputHash: answer.outputHash,
        status: answer.status,
        subAgentIds: [],
        subAgentPrices: [],
        worker: WORKER_ADDRESS,
      };
      expect(verifyTypedData(routerDomain(CHAIN_ID, ROUTER), { Fulfillment: [...FULFILLMENT_TYPES.Fulfillment] }, message, answer.signature)).to.equal(
        WORKER_ADDRESS,
      );
      // Asked again (a bridge retry): the stored answer, no second run.
      expect(ExecuteResponse.parse((await post(request, "hi", "1")).json).signature).to.equal(answer.signature);
      expect(await executions()).to.equal(before + 1);
    });

    it("attack: asked as a backup it is not drawn as, or as the backup of its own request, or without a rank for another's: refused unsigned", async () => {
      const request = requestFor(201n, "x");
      commitments.setBackup(request, 1n, OTHER, 0n);
      commitments.chainTime = 10_000n;
      const before = await executions();
      const notDrawn = await post(request, "x", "1");
      expect([notDrawn.status, notDrawn.json.error]).to.deep.equal([409, "NOT_BACKUP"]);
      const noRank = await post(request, "x", "2");
      expect([noRank.status, noRank.json.error]).to.deep.equal([409, "NOT_BACKUP"]);
      const asPrimary = await post(request, "x");
      expect([asPrimary.status, asPrimary.json.error]).to.deep.equal([421, "WRONG_WORKER"]);
      const own = requestFor(202n, "y", { worker: WORKER_ADDRESS });
      const ownAsBackup = await post(own, "y", "1");
      expect([ownAsBackup.status, ownAsBackup.json.error]).to.deep.equal([421, "WRONG_WORKER"]);
      // A request the router never committed to is refused before any backup check.
      const madeUp = makeRequest({ id: 203n, worker: PRIMARY, codeHash: echoHash, inputHash: keccak256(toUtf8Bytes("z")) });
      commitments.setBackup(madeUp, 1n, WORKER_ADDRESS, 0n);
      const notPending = await post(madeUp, "z", "1");
      expect([notPending.status, notPending.json.error]).to.deep.equal([409, "REQUEST_NOT_PENDING"]);
      expect(await executions()).to.equal(before, "nothing ran");
    });
  });
});
