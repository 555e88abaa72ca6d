import { expect } from "chai";
import { Interface, keccak256, toUtf8Bytes } from "ethers";
import { requestHash } from "../../protocol/request.js";
import { ChainRequestCommitments, ROUTER_COMMITMENT_ABI } from "../../worker/src/commitments.js";
import { RequestRejected } from "../../worker/src/errors.js";
import { makeRequest } from "./helpers.js";

const ROUTER = "0x00000000000000000000000000000000000000B0";
const router = new Interface(ROUTER_COMMITMENT_ABI);

/** A chain of `count` issued requests whose commitments the test sets; counts every RPC call. */
function fakeChain() {
  const chain = { count: 0n, commitments: new Map<bigint, string>(), calls: 0, down: false };
  const provider = {
    getBlockNumber: async () => {
      chain.calls += 1;
      if (chain.down) throw new Error("rpc down");
      return 100;
    },
    call: async (tx: { data: string }) => {
      chain.calls += 1;
      const parsed = router.parseTransaction({ data: tx.data })!;
      if (parsed.name === "requestCount") return router.encodeFunctionResult("requestCount", [chain.count]);
      const id = parsed.args[0] as bigint;
      return router.encodeFunctionResult("commitmentOf", [chain.commitments.get(id) ?? `0x${"00".repeat(32)}`]);
    },
  };
  return { chain, runner: { provider, call: provider.call } as never };
}

async function refusal(promise: Promise<void>): Promise<RequestRejected> {
  try {
    await promise;
  } catch (error) {
    expect(error).to.be.instanceOf(RequestRejected);
    return error as RequestRejected;
  }
  throw new Error("expected a refusal");
}

describe("worker: pending-request check against the router", () => {
  let now = 1_000_000;
  const clock = () => now;

  it("accepts the committed request (cached), refuses altered or settled ones for good and lagging ones for now", async () => {
    const { chain, runner } = fakeChain();
    const commitments = new ChainRequestCommitments(runner, ROUTER, clock);
    const request = makeRequest({ id: 5n, deadline: BigInt(now / 1000 + 60) });
    // Not issued yet at the block the RPC shows: retryable.
    chain.count = 4n;
    const lagging = await refusal(commitments.requirePending(request, requestHash(request)));
    expect([lagging.httpStatus, lagging.code]).to.deep.equal([503, "REQUEST_NOT_VISIBLE"]);
    // Issued and pending: accepted, then answered from the cache.
    now += 150;
    chain.count = 5n;
    chain.commitments.set(5n, requestHash(request));
    await commitments.requirePending(request, requestHash(request));
    const calls = chain.calls;
    await commitments.requirePending(request, requestHash(request));
    expect(chain.calls).to.equal(calls);
    // The same id with another price: final.
    const altered = { ...request, agentPrice: 0n };
    const refused = await refusal(commitments.requirePending(altered, requestHash(altered)));
    expect([refused.httpStatus, refused.code]).to.deep.equal([409, "REQUEST_NOT_PENDING"]);
    expect(refused.message).to.equal("request 5 differs from the request the router committed to");
    // Settled: final, and remembered.
    const settled = makeRequest({ id: 3n, inputHash: keccak256(toUtf8Bytes("settled")) });
    expect((await refusal(commitments.requirePending(settled, requestHash(settled)))).message).to.match(/not pending on the router/);
    const before = chain.calls;
    expect((await refusal(commitments.requirePending(settled, requestHash(settled)))).code).to.equal("REQUEST_NOT_PENDING");
    expect(chain.calls).to.equal(before);
  });

  it("attack: a flood of made-up future ids costs one round of RPC reads per 100 ms, not one per request", async () => {
    const { chain, runner } = fakeChain();
    const commitments = new ChainRequestCommitments(runner, ROUTER, clock);
    chain.count = 10n;
    for (let id = 11n; id < 3011n; id++) {
      const junk = makeRequest({ id, deadline: 2n ** 63n });
      expect((await refusal(commitments.requirePending(junk, requestHash(junk)))).code).to.equal("REQUEST_NOT_VISIBLE");
    }
    // One round of reads (block number, commitment, count) for 3,000 junk requests within 100 ms...
    expect(chain.calls).to.equal(3);
    // ... and a real request issued meanwhile is seen once the window is over.
    now += 150;
    chain.count = 11n;
    const real = makeRequest({ id: 11n });
    chain.commitments.set(11n, requestHash(real));
    await commitments.requirePending(real, requestHash(real));
  });

  it("says CHAIN_UNAVAILABLE (retryable) when its RPC is down", async () => {
    const { chain, runner } = fakeChain();
    chain.down = true;
    const request = makeRequest({ id: 1n });
    const error = await refusal(new ChainRequestCommitments(runner, ROUTER, clock).requirePending(request, requestHash(request)));
    expect([error.httpStatus, error.code]).to.deep.equal([503, "CHAIN_UNAVAILABLE"]);
  });
});
