import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { AbiCoder, hexlify, parseEther, toUtf8Bytes, toUtf8String, type Signer } from "ethers";
import { pino } from "pino";
import { freePort } from "../../bridge/dev/local-node.js";
import { createSubscription } from "../../devkit/functions.js";
import { startLocalNetwork, type LocalNetwork } from "../../devkit/local-network.js";
import { REQUEST_GAS_MARGIN } from "../../protocol/request.js";
import type { ChainlinkFunctionsConsumer } from "../../types/ethers-contracts/index.js";
import { startServer, type TestServer } from "../worker/helpers.js";

/**
 * The acceptance path with every real part: a consumer built on Chainlink's own
 * FunctionsClient (constructed with the adapter's address, nothing else changed) sends inline
 * JavaScript; the bridge carries the request to a worker over HTTP, the functions agent runs it in
 * the sandbox (fetching from an HTTP API), the bridge settles the signed answer, the adapter calls
 * `handleOracleFulfillment`.
 */
describe("Chainlink Functions end to end (anvil, bridge, worker, adapter, unmodified client)", function () {
  this.timeout(240_000);
  let local: LocalNetwork | undefined;
  let api: TestServer | undefined;

  after(async () => {
    await local?.stop();
    await api?.close();
  });

  it("answers inline JavaScript, with HTTP and beyond Chainlink's 256 bytes and 300k gas, and delivers errors", async () => {
    api = await startServer((_req, _body, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ ethereum: { usd: 3141.59 } }));
    });
    const apiHost = new URL(api.url).host;
    local = await startLocalNetwork({
      port: await freePort(),
      workDir: mkdtempSync(join(tmpdir(), "functions-e2e-")),
      deploymentsDir: null,
      functions: true,
      egressAllow: [apiHost],
      bridgeLog: pino.destination({ dest: "/dev/null", sync: false }),
    });
    const { adapter, donId } = local.functions!;
    const { ethers } = local.connection;
    const consumer = (await ethers.deployContract(
      "ChainlinkFunctionsConsumer",
      [adapter.target],
      local.net.signer as Signer,
    )) as unknown as ChainlinkFunctionsConsumer;
    await consumer.waitForDeployment();
    const subscriptionId = await createSubscription(local.net, adapter, { funding: parseEther("20"), consumers: [await consumer.getAddress()] });

    const ask = async (source: string, args: string[], gasLimit: number) => {
      const estimate = await consumer.sendRequest.estimateGas(source, "0x", 0, 0, args, [], subscriptionId, gasLimit, donId);
      const receipt = await (
        await consumer.sendRequest(source, "0x", 0, 0, args, [], subscriptionId, gasLimit, donId, { gasLimit: estimate + REQUEST_GAS_MARGIN })
      ).wait();
      const requestId = await consumer.s_lastRequestId();
      expect(receipt!.status).to.equal(1);
      for (const started = Date.now(); Date.now() - started < 60_000; await new Promise((resolve) => setTimeout(resolve, 250))) {
        const [event] = await consumer.queryFilter(consumer.filters.Response(requestId));
        if (event !== undefined) return { requestId, response: hexlify(event.args.response), err: toUtf8String(event.args.err) };
      }
      throw new Error(`no answer to ${requestId}: adapter status ${await adapter.requestStatus(requestId)}`);
    };

    const price = await ask(
      `const r = await Functions.makeHttpRequest({ url: "${api.url}/price", params: { ids: args[0] } });
       if (r.error) throw new Error("price API: " + r.message);
       return Functions.encodeUint256(Math.round(r.data[args[0]].usd * 100));`,
      ["ethereum"],
      300_000,
    );
    expect(price.err).to.equal("");
    expect(AbiCoder.defaultAbiCoder().decode(["uint256"], price.response)[0]).to.equal(314_159n);
    expect(await consumer.s_lastResponse()).to.equal(price.response);

    const failed = await ask("throw new Error('no price for ' + args[0])", ["dogecoin"], 300_000);
    expect(failed).to.deep.include({ response: "0x", err: "no price for dogecoin" });

    // 1,000 bytes (Chainlink stops at 256) stored by a callback given 1,000,000 gas (Chainlink: 300,000).
    const long = await ask("return Functions.encodeString('x'.repeat(1000))", [], 1_000_000);
    expect(long.response).to.equal(hexlify(toUtf8Bytes("x".repeat(1000))));
    expect(long.err).to.equal("");

    // Each request was paid from the subscription; nothing stays reserved.
    const subscription = await adapter.getSubscription(subscriptionId);
    expect(subscription.blockedBalance).to.equal(0n);
    expect(subscription.balance < parseEther("20")).to.equal(true);
    expect(await adapter.requestStatus(long.requestId)).to.equal(0n);
    expect(api.requests.map((r) => r.url)).to.deep.equal(["/price?ids=ethereum"]);
  });
});
