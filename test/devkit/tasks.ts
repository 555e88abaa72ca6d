import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { AbiCoder, formatEther, hexlify, keccak256, parseEther, toUtf8Bytes, type Signer } from "ethers";
import hre from "hardhat";
import type { NetworkConnection } from "hardhat/types/network";
import { answerPending, timeOutExpired } from "../../devkit/answerer.js";
import { attachAgentNetwork, type AgentNetwork } from "../../devkit/contracts.js";
import { deployAgentNetwork } from "../../devkit/deployment.js";
import { devWorkerSeed, startDevWorker, type DevWorker } from "../../devkit/dev-worker.js";
import type { ProposalInfo } from "../../devkit/governance.js";
import { keepHarvested, type PoolHarvest } from "../../devkit/keeper.js";
import type { RequestState } from "../../devkit/requests.js";
import { AgentStatus } from "../../protocol/status.js";

const coder = AbiCoder.defaultAbiCoder();

/** Runs a task as the CLI does and returns what it returned and printed. */
async function run(id: string, args: Record<string, unknown>): Promise<{ result: unknown; output: string }> {
  const lines: string[] = [];
  const original = console.log;
  console.log = (...parts: unknown[]) => void lines.push(parts.map(String).join(" "));
  try {
    const result = await hre.tasks.getTask(id).run(args);
    return { result, output: lines.join("\n") };
  } finally {
    console.log = original;
  }
}

/** The error a task throws (a DevkitError for the user's mistakes). */
async function failure(id: string, args: Record<string, unknown>): Promise<Error> {
  try {
    await run(id, args);
  } catch (error) {
    return error as Error;
  }
  throw new Error(`${id} did not fail`);
}

describe("devkit tasks (run for real on the in-process network)", function () {
  let connection: NetworkConnection;
  let deployment: string;
  let net: AgentNetwork;
  let signers: Signer[];
  let worker: DevWorker;
  let poolId: bigint;
  let agentId: bigint;
  let accountId: bigint;
  const dir = mkdtempSync(join(tmpdir(), "devkit-tasks-"));
  /** The bundle store of the test's worker, as `npm run local` has one for its workers. */
  const bundles = join(dir, "bundles");

  before(async function () {
    // The whole network is deployed (~15 s on a quiet machine): room for a loaded one.
    this.timeout(180_000);
    // The tasks use Hardhat's cached connection of their network: the test shares it.
    connection = await hre.network.getOrCreate();
    signers = await connection.ethers.getSigners();
    const deployed = await deployAgentNetwork(connection, { outDir: dir });
    deployment = join(dir, `${connection.networkName}.json`);
    net = await attachAgentNetwork(connection, deployed, signers[0]!);
    worker = await startDevWorker({
      seed: devWorkerSeed(7),
      chainId: BigInt(deployed.chainId),
      workerRegistry: deployed.contracts.workerRegistry!,
      agentRegistry: deployed.contracts.agentRegistry!,
      router: deployed.contracts.router!,
      bundleStore: bundles,
      rpc: connection.ethers.provider,
      operator: await signers[3]!.getAddress(),
    });
    // The operator (account 3) needs PHA to stake; the deployer holds the supply.
    await (await net.pha.transfer(await signers[3]!.getAddress(), parseEther("20000"))).wait();
  });

  after(async function () {
    await worker?.close();
  });

  describe("operator tasks", function () {
    it("worker:register reads the worker's attestation from its endpoint and registers its key", async function () {
      await worker.attest(); // the simulated enclave issues evidence at chain time from now on
      const { result, output } = await run("worker:register", { deployment, signer: 3, endpoint: worker.url, verifier: "auto" });
      expect(result).to.equal(worker.enclave.address);
      expect(await net.workerRegistry.isActive(worker.enclave.address)).to.equal(true);
      expect(await net.workerRegistry.operatorOf(worker.enclave.address)).to.equal(await signers[3]!.getAddress());
      expect(output).to.match(/Registered worker 0x[0-9a-fA-F]{40} \(SIMULATED enclave/);
    });

    it("worker:register refuses to register a key for an operator it does not consent to", async function () {
      const error = await failure("worker:register", { deployment, signer: 4, endpoint: worker.url, verifier: "auto" });
      expect(error.message).to.include(`consents to be registered by ${await signers[3]!.getAddress()}, not by ${await signers[4]!.getAddress()}`);
      expect(await net.workerRegistry.operatorOf(worker.enclave.address)).to.equal(await signers[3]!.getAddress());
    });

    it("worker:register refuses an endpoint that is not a worker, and quorum evidence the worker lacks", async function () {
      expect((await failure("worker:register", { deployment, signer: 3, endpoint: "http://127.0.0.1:1", verifier: "auto" })).message).to.match(
        /cannot read the worker's attestation/,
      );
      expect((await failure("worker:register", { deployment, signer: 3, endpoint: worker.url, verifier: "quorum" })).message).to.match(
        /no gatekeeper quorum evidence/,
      );
      expect((await failure("worker:register", { deployment, signer: 3, endpoint: worker.url, verifier: "tdx" })).message).to.match(/--verifier must be/);
    });

    it("staking:create-pool, staking:stake, staking:post-bond and staking:add-worker make the worker eligible", async function () {
      expect((await failure("staking:create-pool", { deployment, signer: 3, commission: 20_000 })).message).to.match(/basis points/);
      poolId = (await run("staking:create-pool", { deployment, signer: 3, commission: 500 })).result as bigint;
      expect((await net.stakingHub.poolState(poolId)).operator).to.equal(await signers[3]!.getAddress());

      expect((await failure("staking:stake", { deployment, signer: 3, pool: String(poolId), amount: "lots" })).message).to.match(
        /--amount must be an amount of PHA/,
      );
      const staked = await run("staking:stake", { deployment, signer: 3, pool: String(poolId), amount: "10000" });
      expect(staked.result).to.equal(parseEther("10000"));
      const { minBondPerWorker } = await net.stakingHub.params();
      const bond = await run("staking:post-bond", { deployment, signer: 3, pool: String(poolId), amount: formatEther(minBondPerWorker) });
      expect(bond.result).to.equal(minBondPerWorker);

      // Only the pool's operator may add workers to it.
      expect((await failure("staking:add-worker", { deployment, signer: 4, pool: String(poolId), worker: worker.enclave.address })).message).to.match(
        /reverted with/,
      );
      const added = await run("staking:add-worker", { deployment, signer: 3, pool: String(poolId), worker: worker.enclave.address });
      expect(added.result).to.equal(true);
      expect(await net.stakingHub.isEligible(worker.enclave.address)).to.equal(true);
    });
  });

  describe("agent and billing tasks", function () {
    it("agent:register bundles and registers an agent owned by the signer", async function () {
      const { result, output } = await run("agent:register", {
        deployment,
        signer: 0,
        entry: "agents/sentiment/index.ts",
        price: "1.5",
        bundles,
        restricted: false,
      });
      const agent = result as { agentId: bigint; codeHash: string; uri: string };
      agentId = agent.agentId;
      const [codeHash, uri] = await net.agentRegistry.codeOf(agentId, 1);
      expect([codeHash, uri]).to.deep.equal([agent.codeHash, agent.uri]);
      // Workers fetch http(s) only: the local workers read the bundle from their store instead.
      expect(uri).to.equal(`https://bundles.invalid/${codeHash}.js`);
      expect(keccak256(readFileSync(join(bundles, `${codeHash}.js`)))).to.equal(codeHash);
      expect(await net.agentRegistry.ownerAndPrice(agentId)).to.deep.equal([await signers[0]!.getAddress(), parseEther("1.5")]);
      expect(output).to.include(`Registered agent ${agentId}`).and.include(`agent:request --agent ${agentId}`);
    });

    it("agent:register refuses a missing entry and a malformed price before sending anything", async function () {
      const count = await net.agentRegistry.agentCount();
      expect((await failure("agent:register", { deployment, signer: 0, entry: "agents/none.ts", price: "0", restricted: false })).message).to.match(
        /does not exist/,
      );
      expect((await failure("agent:register", { deployment, signer: 0, entry: "agents/sentiment/index.ts", price: "-1", restricted: false })).message).to.match(
        /--price/,
      );
      // No URI and no local store: no worker could fetch the bundle, so nothing is registered.
      expect((await failure("agent:register", { deployment, signer: 0, entry: "agents/sentiment/index.ts", price: "0", restricted: false })).message).to.match(
        /where do workers fetch/,
      );
      expect(await net.agentRegistry.agentCount()).to.equal(count);
    });

    it("agent:update publishes the next code version; another account may not", async function () {
      const error = await failure("agent:update", { deployment, signer: 5, agent: String(agentId), entry: "agents/review-score/index.ts", bundles });
      expect(error.message).to.match(/NotAgentOwner.*choose the owner with --signer/);
      const { result } = await run("agent:update", { deployment, signer: 0, agent: String(agentId), entry: "agents/review-score/index.ts", bundles });
      const [version, codeHash] = await net.agentRegistry.currentCode(agentId);
      expect(version).to.equal(2n);
      expect(codeHash).to.equal((result as { codeHash: string }).codeHash);
    });

    it("account:create, account:fund and account:add-consumer set up who pays", async function () {
      accountId = (await run("account:create", { deployment, signer: 0, fund: "100" })).result as bigint;
      expect((await net.router.accountOf(accountId)).balance).to.equal(parseEther("100"));
      const funded = await run("account:fund", { deployment, signer: 0, account: String(accountId), amount: "50" });
      expect(funded.result).to.equal(parseEther("150"));
      expect((await failure("account:fund", { deployment, signer: 0, account: "0", amount: "1" })).message).to.match(/positive integer id/);
      // Account 5 holds no PHA: refused before any approval is sent.
      const error = await failure("account:fund", { deployment, signer: 5, account: String(accountId), amount: "1" });
      expect(error.message).to.match(/holds 0\.0 PHA, 1\.0 are needed/);
      expect(await net.pha.allowance(await signers[5]!.getAddress(), await net.router.getAddress())).to.equal(0n);

      const consumer = await signers[0]!.getAddress();
      expect((await failure("account:add-consumer", { deployment, signer: 5, account: String(accountId), consumer })).message).to.match(/NotAccountOwner/);
      expect(await net.router.isConsumer(accountId, consumer)).to.equal(false);
      expect(
        (
          await failure("agent:request", {
            deployment,
            signer: 0,
            agent: String(agentId),
            account: String(accountId),
            input: "x",
            callbackGas: 100_000,
            noWait: true,
            timeout: 1,
          })
        ).message,
      ).to.match(/ConsumerNotAllowed.*account:add-consumer --account/);
      await run("account:add-consumer", { deployment, signer: 0, account: String(accountId), consumer });
      expect(await net.router.isConsumer(accountId, consumer)).to.equal(true);
    });
  });

  describe("requests", function () {
    const relayer = () => signers[1]!;

    /** The bridge's part, done here: answers what the task sends while the task waits. */
    async function answering<T>(task: Promise<T>, fromBlock: number): Promise<T> {
      let settled = false;
      task.then(
        () => (settled = true),
        () => (settled = true),
      );
      while (!settled) {
        await answerPending(net, [worker], relayer(), fromBlock);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      return task;
    }

    it("agent:request waits for the answer and prints it ABI-decoded; request:status shows it", async function () {
      const fromBlock = await connection.ethers.provider.getBlockNumber();
      const requested = run("agent:request", {
        deployment,
        signer: 0,
        agent: String(agentId),
        account: String(accountId),
        inputTypes: "string",
        inputValues: JSON.stringify(["A great launch, users love it"]),
        decode: "int256,string",
        callbackGas: 100_000,
        noWait: false,
        timeout: 30,
      });
      const { result, output } = await answering(requested, fromBlock);
      const state = (result as { success: boolean; value: RequestState }).value;
      expect((result as { success: boolean }).success).to.equal(true);
      expect(state.phase).to.equal("fulfilled");
      expect(state.status).to.equal(AgentStatus.OK);
      const [score, label] = coder.decode(["int256", "string"], state.output!);
      expect(label).to.equal("positive");
      expect(output).to.include(`output    ["${score}","positive"]`);

      const status = await run("request:status", { deployment, signer: 0, request: String(state.requestId), decode: "int256,string", fromBlock: 0 });
      expect((status.result as RequestState).phase).to.equal("fulfilled");
      expect(status.output)
        .to.include(`Request ${state.requestId}: fulfilled`)
        .and.include('["' + String(score) + '","positive"]');
    });

    it("an answer with an error status is a failed Result (the CLI exits 1), with the message", async function () {
      const fromBlock = await connection.ethers.provider.getBlockNumber();
      // Plain text is not an ABI-encoded string: the agent throws and the worker signs AGENT_ERROR.
      const requested = run("agent:request", {
        deployment,
        signer: 0,
        agent: String(agentId),
        account: String(accountId),
        input: "not abi",
        callbackGas: 100_000,
        noWait: false,
        timeout: 30,
      });
      const { result, output } = await answering(requested, fromBlock);
      expect((result as { success: boolean }).success).to.equal(false);
      expect(output).to.include("AGENT_ERROR").and.include("data too short");
    });

    it("staking:harvest collects the pool's fees from the router into its distribution, for anyone", async function () {
      const owed = await net.router.workerFees(worker.enclave.address);
      expect(owed).to.be.greaterThan(0n);
      expect((await failure("staking:harvest", { deployment, signer: 5, pools: "1,x", watch: false, pollSeconds: 60 })).message).to.match(
        /--pools must be a positive integer id, not "x"/,
      );
      const { result, output } = await run("staking:harvest", { deployment, signer: 5, pools: String(poolId), watch: false, pollSeconds: 60 });
      const [harvest] = result as PoolHarvest[];
      expect(harvest!.distributed).to.equal(owed);
      expect(await net.router.workerFees(worker.enclave.address)).to.equal(0n);
      expect(output).to.include(`pool ${poolId}: ${formatEther(owed)} PHA distributed`);
    });

    it("request:status tells pending, expired and timed-out requests apart", async function () {
      const sent = await run("agent:request", {
        deployment,
        signer: 0,
        agent: String(agentId),
        account: String(accountId),
        input: "late",
        callbackGas: 100_000,
        noWait: true,
        timeout: 1,
      });
      const requestId = (sent.result as { value: RequestState }).value.requestId;
      expect(sent.output).to.include(`request:status ${requestId}`);
      expect(((await run("request:status", { deployment, signer: 0, request: String(requestId), fromBlock: 0 })).result as RequestState).phase).to.equal(
        "pending",
      );

      await connection.networkHelpers.time.increase(3600);
      const expired = await run("request:status", { deployment, signer: 0, request: String(requestId), fromBlock: 0 });
      expect((expired.result as RequestState).phase).to.equal("expired");
      expect(expired.output).to.include("anyone may call timeout");

      expect(await timeOutExpired(net, relayer(), 0)).to.deep.equal([requestId]);
      const timedOut = await run("request:status", { deployment, signer: 0, request: String(requestId), fromBlock: 0 });
      expect((timedOut.result as RequestState).phase).to.equal("timed out");
      expect(timedOut.output).to.include("timed out unanswered").and.include("refunded");
      expect((await failure("request:status", { deployment, signer: 0, request: "999", fromBlock: 0 })).message).to.match(/does not exist/);
    });

    it("tasks refuse a deployment file for another chain or with no contracts behind it", async function () {
      const other = join(dir, "other-chain.json");
      writeFileSync(other, JSON.stringify({ network: "x", chainId: 1, deployedAt: "", contracts: {} }));
      expect((await failure("request:status", { deployment: other, signer: 0, request: "1", fromBlock: 0 })).message).to.match(/for chain 1/);
      const stale = join(dir, "stale.json");
      const contracts = Object.fromEntries(Object.keys(net.deployment.contracts).map((k) => [k, "0x000000000000000000000000000000000000dEaD"]));
      writeFileSync(stale, JSON.stringify({ ...net.deployment, contracts }));
      expect((await failure("request:status", { deployment: stale, signer: 0, request: "1", fromBlock: 0 })).message).to.match(/stale/);
      expect((await failure("request:status", { deployment: join(dir, "none.json"), signer: 0, request: "1", fromBlock: 0 })).message).to.match(
        /npm run local/,
      );
    });
  });

  describe("governance tasks", function () {
    let proposalId: string;
    const gov = (extra: Record<string, unknown>) => ({ deployment, signer: 0, fastForward: false, ...extra });
    const vote = (extra: Record<string, unknown>) => gov({ reason: "", ...extra });

    it("gov:status prints the settings and the signer's voting power, which gov:delegate turns on", async function () {
      // PHA votes only once delegated: the deployer holds the supply but has no votes yet.
      expect((await run("gov:status", { deployment, signer: 0, fromBlock: 0 })).output).to.include("your votes      0 votes");
      const delegated = await run("gov:delegate", { deployment, signer: 0 });
      expect(delegated.output).to.include("delegated its PHA votes and staked-PHA votes to itself");
      await connection.networkHelpers.mine(); // proposals count votes from the second before
      const { result, output } = await run("gov:status", { deployment, signer: 0, fromBlock: 0 });
      expect(result).to.deep.equal([]);
      expect(output).to.include("voting delay    1 h").and.include("voting period   1 d").and.include("quorum          4% of PHA's supply");
      expect(output).to.match(/timelock delay  1 d 1 h \(configured 1 d 1 h, exit window = unbonding period 1 d\)/);
      expect(output, output).to.match(/your votes      [\d,.]+ votes \(delegated PHA [\d,.]+ votes, staked PHA 0 votes\)/);
      expect(output).to.include("No proposals yet");
    });

    it("gov:propose refuses a signer below the threshold and malformed actions before sending", async function () {
      const count = await net.governor.proposalCount();
      const base = { deployment, contract: "router", function: "setMaxInputBytes", args: "[32768]", description: "Raise the input limit" };
      expect((await failure("gov:propose", { ...base, signer: 5 })).message).to.match(/has 0 votes, the proposal threshold is 1,000 votes.*gov:delegate/);
      expect((await failure("gov:propose", { ...base, signer: 0, contract: "nothing" })).message).to.match(/unknown contract "nothing"/);
      expect((await failure("gov:propose", { ...base, signer: 0, args: "32768" })).message).to.match(/--args must be a JSON array/);
      expect((await failure("gov:propose", { ...base, signer: 0, args: "[]" })).message).to.match(/takes 1 argument\(s\), 0 given/);
      expect((await failure("gov:propose", { ...base, signer: 0, description: "" })).message).to.match(/needs a description/);
      expect(await net.governor.proposalCount()).to.equal(count);
    });

    it("gov:propose, gov:vote, gov:queue and gov:execute change a router parameter through the timelock", async function () {
      const proposed = await run("gov:propose", {
        deployment,
        signer: 0,
        contract: "router",
        function: "setMaxInputBytes",
        args: "[32768]",
        description: "Raise the input limit\nLonger inputs for agents.",
      });
      const info = proposed.result as ProposalInfo;
      proposalId = info.id.toString();
      expect(info.state).to.equal("Pending");
      expect(proposed.output)
        .to.include(`Proposal ${proposalId}: Pending`)
        .and.include("action 1")
        .and.include("router.setMaxInputBytes(32768)")
        .and.include(`gov:vote ${proposalId}`);

      // Each step refuses until its time has come, saying when that is.
      expect((await failure("gov:vote", vote({ proposal: proposalId, support: "for" }))).message).to.match(
        /is Pending, not Active: cannot vote on it; voting opens after .* \(in 1 h\).*--fast-forward/,
      );
      expect((await failure("gov:vote", vote({ proposal: proposalId, support: "maybe" }))).message).to.match(/--support must be for, against or abstain/);
      const voted = await run("gov:vote", vote({ proposal: proposalId, support: "for", reason: "longer inputs", fastForward: true }));
      expect(voted.output)
        .to.match(/voted for on proposal \d+ with [\d,.]+ votes/)
        .and.include("40,000,000 votes of for + abstain: reached");
      expect((await failure("gov:vote", vote({ proposal: proposalId, support: "against" }))).message).to.match(/has already voted/);
      expect((await failure("gov:queue", gov({ proposal: proposalId }))).message).to.match(/is Active, not Succeeded: cannot queue it; voting closes after/);

      const queued = await run("gov:queue", gov({ proposal: proposalId, fastForward: true }));
      expect((queued.result as ProposalInfo).state).to.equal("Queued");
      expect(queued.output).to.match(/Queued proposal \d+ in the timelock: it can run at .* \(in 1 d 1 h\)/);
      expect((await failure("gov:execute", gov({ proposal: proposalId }))).message).to.match(/can run at .*the timelock holds it until then/);
      expect(await net.router.maxInputBytes()).to.equal(16_384n);

      const executed = await run("gov:execute", gov({ proposal: proposalId, fastForward: true }));
      expect((executed.result as ProposalInfo).state).to.equal("Executed");
      expect(executed.output).to.include("Executed proposal").and.include("router.setMaxInputBytes(32768)");
      expect(await net.router.maxInputBytes()).to.equal(32_768n);

      const status = await run("gov:status", { deployment, signer: 0, proposal: proposalId, fromBlock: 0 });
      expect(status.output).to.include(`Proposal ${proposalId}: Executed`).and.include("description       Raise the input limit");
      const listed = await run("gov:status", { deployment, signer: 0, fromBlock: 0 });
      expect(listed.output).to.match(new RegExp(`Executed\\s+${proposalId}\\s+router\\.setMaxInputBytes\\(32768\\)`));
    });

    it("a proposal outside a contract's hard bounds passes the vote and reverts at execution, naming the error", async function () {
      const config = await net.router.feeConfig();
      const actions = join(dir, "actions.json");
      // Every field as read, the fee above MAX_PROTOCOL_FEE_BPS (2,000).
      const tooHigh = { ...(config as unknown as { toObject(): Record<string, unknown> }).toObject(), protocolFeeBps: 5_000 };
      writeFileSync(
        actions,
        JSON.stringify([{ contract: "router", function: "setConfig", args: [Object.fromEntries(Object.entries(tooHigh).map(([k, v]) => [k, String(v)]))] }]),
      );
      const { result } = await run("gov:propose", { deployment, signer: 0, actions, description: "A 50% protocol fee" });
      const id = (result as ProposalInfo).id.toString();
      await run("gov:vote", vote({ proposal: id, support: "for", fastForward: true }));
      await run("gov:queue", gov({ proposal: id, fastForward: true }));
      expect((await failure("gov:execute", gov({ proposal: id, fastForward: true }))).message).to.match(/governor.execute reverted with InvalidConfig\(\)/);
      expect((await net.router.feeConfig()).protocolFeeBps).to.equal(config.protocolFeeBps);
      expect(((await run("gov:status", { deployment, signer: 0, proposal: id, fromBlock: 0 })).result as ProposalInfo).state).to.equal("Queued");
    });

    it("gov:delegate moves the signer's PHA and staked-PHA votes; a staker votes with its stake", async function () {
      // Account 3 staked 10,000 PHA (operator tasks above), posted its pool's operator bond (which
      // votes nothing) and holds the rest of its 10,000 more, undelegated.
      const operator = await signers[3]!.getAddress();
      const { minBondPerWorker: bond } = await net.stakingHub.params();
      expect(await net.stakeVotes.getVotes(operator)).to.equal(parseEther("10000"));
      expect(await net.pha.getVotes(operator)).to.equal(0n);
      const { result, output } = await run("gov:delegate", { deployment, signer: 3 });
      expect(result).to.equal(parseEther("20000") - bond);
      expect(output).to.include("delegated its PHA votes and staked-PHA votes to itself");
      const carol = await signers[6]!.getAddress();
      await run("gov:delegate", { deployment, signer: 3, to: carol });
      expect(await net.pha.getVotes(carol)).to.equal(parseEther("10000") - bond);
      expect(await net.stakeVotes.getVotes(carol)).to.equal(parseEther("10000"));
      expect(await net.stakeVotes.getVotes(operator)).to.equal(0n);
      expect((await failure("gov:delegate", { deployment, signer: 3, to: "nobody" })).message).to.match(/--to must be a 0x address/);
      expect((await failure("gov:status", { deployment, signer: 0, proposal: "abc", fromBlock: 0 })).message).to.match(/proposal id must be/);
      expect((await failure("gov:status", { deployment, signer: 0, proposal: "12345", fromBlock: 0 })).message).to.match(/there is no proposal 12345/);
    });
  });

  describe("staking keeper", function () {
    const until = async (done: () => boolean) => {
      for (let i = 0; i < 500 && !done(); i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(done()).to.equal(true);
    };

    it("harvests each pool once per mining epoch, as the epoch begins", async function () {
      const stop = new AbortController();
      const epochs: bigint[] = [];
      const keeper = keepHarvested(net, [poolId], { pollMs: 20, signal: stop.signal, onHarvest: (epoch) => void epochs.push(epoch) });
      await until(() => epochs.length === 1);
      const first = await net.miningRewards.currentEpoch();
      expect(epochs).to.deep.equal([first]);
      // Polls within the epoch send nothing.
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(epochs).to.deep.equal([first]);
      await connection.networkHelpers.time.increase(86_400);
      await until(() => epochs.length === 2);
      expect(epochs).to.deep.equal([first, first + 1n]);
      stop.abort();
      await keeper;
    });

    it("retries a failed round at the next poll instead of skipping the epoch", async function () {
      const stop = new AbortController();
      const errors: Error[] = [];
      const keeper = keepHarvested(net, [999n], { pollMs: 20, signal: stop.signal, onError: (error) => void errors.push(error as Error) });
      await until(() => errors.length >= 2);
      stop.abort();
      await keeper;
      expect(errors[0]!.message).to.match(/stakingHub.harvestPool\(999\) reverted with UnknownPool\(999\)/);
    });
  });

  describe("agent:run (no chain)", function () {
    const agentFile = (name: string, body: string) => {
      const file = join(dir, `${name}.ts`);
      writeFileSync(
        file,
        `import { abi, defineAgent } from ${JSON.stringify(join(process.cwd(), "worker/sdk/index.js"))};\nexport default defineAgent(${body});\n`,
      );
      return file;
    };
    const runArgs = { allow: "", llmModel: "m", wallTimeMs: 5_000 };

    it("runs the agent in the sandbox, prints its logs and decodes its output", async function () {
      const entry = agentFile(
        "scorer",
        `(input, ctx) => { ctx.log("scoring", input); return abi.encode(["uint256", "string"], [BigInt(input.length), input.toUpperCase()]); }`,
      );
      const { result, output } = await run("agent:run", { ...runArgs, entry, input: "hello", decode: "uint256,string" });
      expect((result as { success: boolean }).success).to.equal(true);
      expect(output).to.include("log: scoring hello").and.include('output: ["5","HELLO"]');
    });

    it("opens the agent's secrets through the worker's decryption path", async function () {
      const entry = agentFile("secretive", `(_input, ctx) => "key=" + ctx.secrets.API_KEY`);
      const secrets = join(dir, "secrets.json");
      writeFileSync(secrets, JSON.stringify({ API_KEY: "sk-local" }));
      const { result } = await run("agent:run", { ...runArgs, entry, secrets });
      expect(hexlify((result as { value: { output: string } }).value.output)).to.equal(hexlify(toUtf8Bytes("key=sk-local")));
      writeFileSync(secrets, JSON.stringify({ API_KEY: 42 }));
      expect((await failure("agent:run", { ...runArgs, entry, secrets })).message).to.match(/JSON object of strings/);
    });

    it("applies the worker's egress policy and reports a failed run as a failed Result", async function () {
      const entry = agentFile("fetcher", `async (_input, ctx) => (await ctx.fetch("https://example.com/")).status`);
      const { result, output } = await run("agent:run", { ...runArgs, entry });
      expect((result as { success: boolean }).success).to.equal(false);
      expect(output).to.include("HOST_CALL_DENIED");
      expect((await failure("agent:run", { ...runArgs, entry, input: "a", inputHex: "0x00" })).message).to.match(/give one of/);
    });
  });
});
