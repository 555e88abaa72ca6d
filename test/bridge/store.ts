import { expect } from "chai";
import { SyntheticChain } from "../../bridge/dev/synthetic-chain.js";
import { StoreMismatchError } from "../../bridge/src/errors.js";
import { SqliteStore } from "../../bridge/src/store/sqlite-store.js";
import type { ExecuteResponse } from "../../protocol/worker-api.js";

const ANSWER: ExecuteResponse = {
  simulated: true,
  worker: "0x0000000000000000000000000000000000000001",
  requestId: "1",
  requestHash: `0x${"11".repeat(32)}`,
  status: 0,
  statusName: "OK",
  output: "0x",
  outputHash: `0x${"22".repeat(32)}`,
  subAgentIds: [],
  subAgentPrices: [],
  signature: "0x",
};

describe("bridge SqliteStore", () => {
  let store: SqliteStore;
  const chain = new SyntheticChain({ requests: 6, perBlock: 2 }); // blocks 1..3 hold ids 1..6

  beforeEach(() => {
    store = new SqliteStore(":memory:");
    store.bind(31337n, chain.router);
  });
  afterEach(() => store.close());

  async function scanAll() {
    const events = await chain.routerEvents(0, 3);
    const head = (await chain.block(3))!;
    return store.applyScan({ ...events, blocks: [1, 2, 3].map((n) => ({ number: n, hash: chain.blocks[n]!.hash })), cursor: head }, 256);
  }

  it("refuses to serve another chain or router", () => {
    expect(() => store.bind(1n, chain.router)).to.throw(StoreMismatchError);
  });

  it("stores each request once however often its range is scanned", async () => {
    expect((await scanAll()).added).to.equal(6);
    expect((await scanAll()).added).to.equal(0);
    expect(store.counts().seen).to.equal(6);
    expect(store.cursor()?.number).to.equal(3);
  });

  it("walks a request through its states and keeps the answer", async () => {
    await scanAll();
    expect(store.confirmBlock({ number: 1, hash: chain.blocks[1]!.hash }, Date.now())).to.equal(2);
    expect(store.confirmBlock({ number: 2, hash: "0xdead" }, Date.now())).to.equal(0, "a different hash is not confirmed");
    store.markDispatched(1n, 1, 0);
    store.saveAnswer(1n, ANSWER);
    expect(store.readyToSubmit(10).map((r) => r.id)).to.deep.equal([1n]);
    store.markSubmitted([1n], "0xtx");
    store.reopenSubmitted([1n]);
    expect(store.get(1n)!.state).to.equal("signed");
    expect(store.get(1n)!.answer).to.deep.equal(ANSWER);
  });

  it("applies settlements and never reopens a settled request except through a reorg", async () => {
    await scanAll();
    store.applyScan(
      {
        requests: [],
        settlements: [{ requestId: 2n, outcome: "timed_out", block: { number: 4, hash: "0x04" }, txHash: "0xt", fee: 0n, refund: 5n }],
        blocks: [{ number: 4, hash: "0x04" }],
        cursor: { number: 4, hash: "0x04" },
      },
      256,
    );
    expect(store.get(2n)!.state).to.equal("timed_out");
    store.markFailed(2n, "late");
    expect(store.get(2n)!.state).to.equal("timed_out");
    // Reorg to block 3: the settlement (block 4) is reopened; requests of block 3 are orphaned.
    const orphaned = store.rewind({ number: 2, hash: chain.blocks[2]!.hash });
    expect(orphaned.sort()).to.deep.equal([5n, 6n]);
    expect(store.get(2n)!.state).to.equal("confirmed", "reopened: the submitter re-checks isPending");
    expect(store.get(5n)!.state).to.equal("orphaned");
    expect(store.cursor()?.number).to.equal(2);
  });

  it("lists expired unsettled requests by deadline", async () => {
    await scanAll();
    const deadline = chain.makeRequest(1n).request.deadline;
    expect(store.expired(deadline, 10)).to.have.length(0);
    expect(store.expired(deadline + 1n, 10)).to.have.length(6);
  });
});
