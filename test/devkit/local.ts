import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { expect } from "chai";
import { network } from "hardhat";
import { freePort } from "../../bridge/dev/local-node.js";
import type { Deployment } from "../../devkit/deployment.js";
import { startAgentTestbed } from "../../devkit/testing.js";

const require = createRequire(import.meta.url);
const HARDHAT = join(dirname(require.resolve("hardhat/package.json")), "dist", "src", "cli.js");

/** Runs a command to its end; its output and exit code. */
function runToEnd(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    child.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
    child.on("exit", (code) => resolve({ code, out }));
  });
}

/** Resolves when `condition` holds; rejects after `ms` with `context()` in the message. */
async function waitFor(condition: () => boolean, ms: number, context: () => string): Promise<void> {
  for (const deadline = Date.now() + ms; !condition(); await new Promise((resolve) => setTimeout(resolve, 100))) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms:\n${context()}`);
  }
}

/** Resolves when `child`'s output contains `text`; rejects if it exits first or `ms` pass. */
function waitForOutput(child: ChildProcess, output: () => string, text: string, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setInterval(() => {
      if (output().includes(text)) {
        clearInterval(timer);
        resolve();
      } else if (child.exitCode !== null || Date.now() > deadline) {
        clearInterval(timer);
        reject(new Error(`no "${text}" (exit ${child.exitCode}):\n${output()}`));
      }
    }, 100);
    const deadline = Date.now() + ms;
  });
}

describe("npm run local (devkit/local.ts), driven as a user would", function () {
  this.timeout(420_000);

  it("serves the tasks, the README example's consumer and a fork, and stops everything on Ctrl-C", async function () {
    const port = await freePort();
    const dir = mkdtempSync(join(tmpdir(), "devkit-local-"));
    const rpcUrl = `http://127.0.0.1:${port}`;
    const env = { LOCAL_PORT: String(port), LOCAL_DIR: join(dir, "work"), LOCAL_DEPLOYMENTS: dir, RPC_URL: rpcUrl, FORCE_COLOR: "0" };
    // `npm run local` in its own process group, so Ctrl-C can be sent the way a terminal sends it:
    // to every process of the group (npm relays it to its child once more).
    const local = spawn("npm", ["run", "local"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let out = "";
    local.stdout.on("data", (chunk: Buffer) => (out += chunk.toString()));
    local.stderr.on("data", (chunk: Buffer) => (out += chunk.toString()));
    try {
      await waitForOutput(local, () => out, "Requests as they happen", 240_000);
      const file = join(dir, "localhost.json");
      const deployment = JSON.parse(readFileSync(file, "utf8")) as Deployment;
      expect(deployment.local?.accountId).to.equal("1");
      expect(deployment.local?.workers).to.have.length(1);
      expect(deployment.local?.rpcUrl).to.equal(rpcUrl);
      expect(out).to.include(`RPC_URL=${rpcUrl}`);

      // A task through the Hardhat CLI: the bridge and the worker answer it.
      const request = await runToEnd(
        [HARDHAT, "agent:request", "--agent", "1", "--input", "A great launch", "--network", "localhost", "--deployment", file, "--timeout", "90"],
        env,
      );
      expect(request.out, request.out)
        .to.match(/Request 1 answered/)
        .and.match(/status\s+OK \(0\)/)
        .and.match(/"label":"positive"/);
      expect(request.code).to.equal(0);

      // The README path: register your own agent, then your own consumer asks it.
      const registered = await runToEnd([HARDHAT, "agent:register", "agents/review-score/index.ts", "--network", "localhost", "--deployment", file], env);
      const agentId = /Registered agent (\d+)/.exec(registered.out)?.[1];
      expect(agentId, registered.out).to.equal("3");
      const example = await runToEnd([HARDHAT, "run", "scripts/examples/review-score.ts", "--network", "localhost"], {
        ...env,
        AGENT_ID: agentId,
        DEPLOYMENT: file,
      });
      expect(example.out, example.out).to.match(/Answered on-chain: score \d+ \(thousandths\), label "positive"/);
      expect(example.code).to.equal(0);
      await waitForOutput(local, () => out, "#2 answered: OK", 10_000);

      // Governance through the CLI: the timelock owns the router, the deployer's PHA passes a
      // proposal, and --fast-forward moves the node's time past each wait.
      const gov = (task: string, ...args: string[]) => runToEnd([HARDHAT, task, ...args, "--network", "localhost", "--deployment", file], env);
      const proposed = await gov(
        "gov:propose",
        "--contract",
        "router",
        "--function",
        "setMaxInputBytes",
        "--args",
        "[32768]",
        "--description",
        "Longer inputs",
      );
      const proposalId = /Proposal (\d+): Pending/.exec(proposed.out)?.[1];
      expect(proposalId, proposed.out).to.be.a("string");
      for (const [task, expected] of [
        ["gov:vote", /voted for on proposal \d+ with [\d,.]+ votes/],
        ["gov:queue", /Queued proposal \d+ in the timelock/],
        ["gov:execute", /Executed proposal \d+ through the timelock:\n\s+router\.setMaxInputBytes\(32768\)/],
      ] as const) {
        const step = await gov(task, proposalId!, "--fast-forward");
        expect(step.out, step.out).to.match(expected);
        expect(step.code).to.equal(0);
      }
      // Chainlink Functions: a consumer built on Chainlink's FunctionsClient, constructed with the
      // adapter's address, gets its inline JavaScript answered through the bridge and the worker.
      expect(out).to.match(/Chainlink Functions\s+router 0x[0-9a-fA-F]{40} \(FunctionsRouterAdapter\), DON id "fun-phala-local-1"/);
      expect(deployment.contracts.functionsRouter).to.match(/^0x[0-9a-fA-F]{40}$/);
      const functions = await runToEnd([HARDHAT, "run", "scripts/examples/chainlink-functions.ts", "--network", "localhost"], { ...env, DEPLOYMENT: file });
      expect(functions.out, functions.out).to.match(/Answered on-chain: response 0x0{62}2a \(uint256 42\), err ""/);
      expect(functions.code).to.equal(0);

      // The test kit on a fork of this node: it attaches to the deployment and answers for the
      // local network's worker, whose development key it knows.
      // Pinned to the node's latest block: unpinned, Hardhat forks a chain it does not know up to
      // ~128 blocks back, before the agents above were registered.
      const latest = await fetch(rpcUrl, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "eth_blockNumber", params: [] }),
      });
      const blockNumber = Number(((await latest.json()) as { result: string }).result);
      const fork = await network.create({ override: { forking: { url: rpcUrl, blockNumber } } });
      const kit = await startAgentTestbed(fork, { deployment, agents: { score: "agents/review-score/index.ts" } });
      try {
        expect(kit.workers.map((w) => w.enclave.address)).to.deep.equal([deployment.local!.workers[0]!.address]);
        const consumer = await fork.ethers.deployContract("ReviewScore", [kit.router, kit.accountId, kit.agents.score!.agentId]);
        await kit.addConsumer(consumer);
        await (await consumer.ask("Terrible fees, a scam")).wait();
        const [answer] = await kit.answerPending();
        expect(answer!.statusName).to.equal("OK");
        expect((await consumer.reviews(answer!.requestId)).label).to.equal("negative");
      } finally {
        await kit.close();
        await fork.close();
      }
    } finally {
      // Ctrl-C, then again while it stops (a second press, or npm relaying the first): the second
      // must not cut the stop short.
      const interrupt = () => {
        try {
          process.kill(-local.pid!, "SIGINT");
        } catch {
          // the whole group has already exited
        }
      };
      interrupt();
      await waitFor(
        () => out.includes("SIGINT: stopping"),
        10_000,
        () => out,
      );
      interrupt();
      await waitFor(
        () => out.includes("Stopped."),
        30_000,
        () => out,
      );
    }
    expect(out).to.not.include("unclean stop");
    const stillUp = await fetch(rpcUrl, { method: "POST" }).then(
      () => true,
      () => false,
    );
    expect(stillUp, "the chain stopped with it").to.equal(false);
  });
});
