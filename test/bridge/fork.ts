import { expect } from "chai";
import { Wallet } from "ethers";
import { Bridge } from "../../bridge/src/bridge.js";
import { parseConfig } from "../../bridge/src/config.js";
import { createLogger } from "../../bridge/src/logger.js";
import { DEV_ROLES, devKey } from "../../bridge/dev/accounts.js";
import { deployStack } from "../../bridge/dev/deploy.js";
import { FakeWorker } from "../../bridge/dev/fake-worker.js";
import { startLocalNode, type LocalNode } from "../../bridge/dev/local-node.js";
import { waitFor } from "./helpers.js";

describe("bridge against a fork of a running local node", function () {
  this.timeout(120_000);
  const nodes: LocalNode[] = [];
  let worker: FakeWorker | undefined;
  let bridge: Bridge | undefined;

  after(async () => {
    await bridge?.stop();
    await worker?.close();
    for (const node of nodes.reverse()) await node.stop();
  });

  it("serves a consumer on an anvil fork of the deployed chain, leaving the origin untouched", async () => {
    worker = new FakeWorker({ key: Wallet.createRandom().privateKey });
    await worker.listen();
    const origin = await startLocalNode();
    nodes.push(origin);
    const stack = await deployStack(origin.url, [{ key: worker.options.key, endpoint: worker.url }]);
    const fork = await startLocalNode({ forkUrl: origin.url });
    nodes.push(fork);
    const forkBlock = Number(await fork.rpc("eth_blockNumber"));

    const config = parseConfig({
      rpcUrl: fork.url,
      router: stack.addresses.router,
      workerRegistry: stack.addresses.workerRegistry,
      privateKey: devKey(DEV_ROLES.bridge),
      dbPath: ":memory:",
      startBlock: forkBlock,
      confirmations: 0,
      pollIntervalMs: 50,
      http: { enabled: false },
      logLevel: "silent",
    });
    bridge = await Bridge.create(config, { logger: createLogger("silent") });
    await bridge.start();

    // The consumer sends its request on the fork (same addresses, same state as the origin).
    const data = stack.requester.interface.encodeFunctionData("requestMany", ["fork-", 3]);
    const hash = (await fork.rpc("eth_sendTransaction", [
      { from: new Wallet(devKey(DEV_ROLES.deployer)).address, to: stack.addresses.requester, data },
    ])) as string;
    await waitFor(async () => (await fork.rpc("eth_getTransactionReceipt", [hash])) !== null, 10_000, "request mined on the fork");
    await waitFor(async () => (await bridge!.store.counts()).fulfilled === 3, 30_000, "3 fulfilments on the fork");

    const answeredOnFork = (await fork.rpc("eth_call", [
      { to: stack.addresses.requester, data: stack.requester.interface.encodeFunctionData("answered") },
      "latest",
    ])) as string;
    expect(BigInt(answeredOnFork)).to.equal(3n);
    expect(await stack.requester.getFunction("answered")()).to.equal(0n, "origin untouched");
    stack.provider.destroy();
  });
});
