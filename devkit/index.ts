/**
 * Hardhat 3 plugin: the developer path of the agent network as tasks. Every action lives in
 * tasks/ and is imported only when its task runs.
 *
 *   agent:run       run an agent on an input in the worker's sandbox (no chain)
 *   agent:register  bundle an agent and register it          agent:update   publish a new code version
 *   account:create  open (and fund) a billing account         account:fund / account:add-consumer
 *   agent:request   send a request and wait for the answer    request:status show a request's state
 *   worker:register register a running worker's enclave key   staking:create-pool / staking:stake / staking:post-bond / staking:add-worker
 *   staking:harvest collect pools' fees and mining rewards (--watch: once per mining epoch)
 *   gov:propose / gov:vote / gov:queue / gov:execute / gov:status / gov:delegate   PHA governance
 *
 * Tasks that talk to a chain read the addresses from deployments/<network>.json (written by
 * `npm run local` and `npm run deploy`; `--deployment <file>` picks another) and sign with the
 * network's account `--signer` (default 0).
 */
import { task } from "hardhat/config";
import { definePlugin } from "hardhat/plugins";
import { ArgumentType } from "hardhat/types/arguments";
import { PLUGIN_ID } from "./errors.js";

/** A task that talks to the deployed network: `--deployment` and `--signer` come with it. */
function chainTask(id: string, description: string) {
  return task(id, description)
    .addOption({
      name: "deployment",
      description: "Deployment file with the contract addresses (default: deployments/<network>.json)",
      type: ArgumentType.STRING_WITHOUT_DEFAULT,
      defaultValue: undefined,
    })
    .addOption({ name: "signer", description: "Index of the network account that signs", type: ArgumentType.INT, defaultValue: 0 });
}

const inputOptions = {
  input: { name: "input", description: "Input as UTF-8 text", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined },
  inputHex: {
    name: "inputHex",
    description: "Input as 0x-hex bytes (e.g. from `cast abi-encode`)",
    type: ArgumentType.STRING_WITHOUT_DEFAULT,
    defaultValue: undefined,
  },
  inputTypes: {
    name: "inputTypes",
    description: 'ABI-encode the input: types, e.g. "string,uint256"',
    type: ArgumentType.STRING_WITHOUT_DEFAULT,
    defaultValue: undefined,
  },
  inputValues: {
    name: "inputValues",
    description: "ABI-encode the input: a JSON array of values for --input-types",
    type: ArgumentType.STRING_WITHOUT_DEFAULT,
    defaultValue: undefined,
  },
  decode: {
    name: "decode",
    description: 'ABI types to decode an answer with, e.g. "int256,string"',
    type: ArgumentType.STRING_WITHOUT_DEFAULT,
    defaultValue: undefined,
  },
} as const;

/** A governance task about one proposal; `--fast-forward` moves a development chain's time to when it can act. */
function proposalTask(id: string, description: string) {
  return chainTask(id, description)
    .addPositionalArgument({ name: "proposal", description: "The proposal id (from gov:propose or gov:status)" })
    .addFlag({ name: "fastForward", description: "Development chains only: move chain time to when this step becomes possible first" });
}

const bundleOptions = {
  uri: {
    name: "uri",
    description: "https:// URI where workers fetch the bundle (not needed on a local network)",
    type: ArgumentType.STRING_WITHOUT_DEFAULT,
    defaultValue: undefined,
  },
  bundles: {
    name: "bundles",
    description: "Bundle store of local workers to copy the bundle into (default: the local network's, from the deployment file)",
    type: ArgumentType.STRING_WITHOUT_DEFAULT,
    defaultValue: undefined,
  },
} as const;

export default definePlugin({
  id: PLUGIN_ID,
  dependencies: () => [import("@nomicfoundation/hardhat-ethers"), import("@nomicfoundation/hardhat-ignition-ethers")],
  tasks: [
    task("agent:run", "Run an agent on an input in the worker's sandbox and host API, without a chain")
      .addPositionalArgument({ name: "entry", description: "The agent's entry file (.ts/.js) or a built *.agent.js bundle" })
      .addOption(inputOptions.input)
      .addOption(inputOptions.inputHex)
      .addOption(inputOptions.inputTypes)
      .addOption(inputOptions.inputValues)
      .addOption(inputOptions.decode)
      .addOption({
        name: "secrets",
        description: 'JSON file of the agent\'s secrets ({"NAME": "value"})',
        type: ArgumentType.FILE_WITHOUT_DEFAULT,
        defaultValue: undefined,
      })
      .addOption({ name: "allow", description: 'Comma-separated hosts the agent may fetch ("*" for any)', defaultValue: "" })
      .addOption({
        name: "llmUrl",
        description: "OpenAI-compatible base URL for ctx.llm.chat (key: env WORKER_LLM_API_KEY)",
        type: ArgumentType.STRING_WITHOUT_DEFAULT,
        defaultValue: undefined,
      })
      .addOption({ name: "llmModel", description: "Model for ctx.llm.chat", defaultValue: "llama3.2" })
      .addOption({ name: "wallTimeMs", description: "Wall-time limit of the run", type: ArgumentType.INT, defaultValue: 10_000 })
      .setAction(() => import("./tasks/agent-run.js"))
      .build(),
    chainTask("agent:register", "Bundle an agent and register it in the AgentRegistry, owned by the signer")
      .addPositionalArgument({ name: "entry", description: "The agent's entry file (.ts/.js) or a built *.agent.js bundle" })
      .addOption({ name: "price", description: "PHA paid to the owner per successful request", defaultValue: "0" })
      .addOption(bundleOptions.uri)
      .addOption(bundleOptions.bundles)
      .addFlag({ name: "restricted", description: "Only callers the owner allows may request it" })
      .setAction(() => import("./tasks/agent-register.js"))
      .build(),
    chainTask("agent:update", "Bundle an agent and publish it as a registered agent's next code version")
      .addPositionalArgument({ name: "agent", description: "The agent id" })
      .addPositionalArgument({ name: "entry", description: "The agent's entry file (.ts/.js) or a built *.agent.js bundle" })
      .addOption(bundleOptions.uri)
      .addOption(bundleOptions.bundles)
      .setAction(() => import("./tasks/agent-update.js"))
      .build(),
    chainTask("account:create", "Open a billing account owned by the signer")
      .addOption({ name: "fund", description: "PHA to put in it right away", defaultValue: "0" })
      .setAction(() => import("./tasks/account-create.js"))
      .build(),
    chainTask("account:fund", "Move PHA from the signer into a billing account")
      .addOption({ name: "account", description: "Billing account id", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .addOption({ name: "amount", description: "PHA to add, e.g. 100 or 0.5", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .setAction(() => import("./tasks/account-fund.js"))
      .build(),
    chainTask("account:add-consumer", "Let a contract (or address) spend a billing account; the signer must own it")
      .addOption({ name: "account", description: "Billing account id", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .addOption({ name: "consumer", description: "The consumer contract's address", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .setAction(() => import("./tasks/account-add-consumer.js"))
      .build(),
    chainTask("agent:request", "Send a request from the signer's address and wait for the decoded answer")
      .addOption({ name: "agent", description: "Agent id", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .addOption({
        name: "account",
        description: "Billing account id (default: the local network's)",
        type: ArgumentType.STRING_WITHOUT_DEFAULT,
        defaultValue: undefined,
      })
      .addOption(inputOptions.input)
      .addOption(inputOptions.inputHex)
      .addOption(inputOptions.inputTypes)
      .addOption(inputOptions.inputValues)
      .addOption(inputOptions.decode)
      .addOption({ name: "callbackGas", description: "Callback gas limit", type: ArgumentType.INT, defaultValue: 100_000 })
      .addOption({
        name: "maxFee",
        description: "Most PHA the request may cost (default: the router's estimate)",
        type: ArgumentType.STRING_WITHOUT_DEFAULT,
        defaultValue: undefined,
      })
      .addFlag({ name: "noWait", description: "Return once the request is sent" })
      .addOption({ name: "timeout", description: "Seconds to wait for the answer", type: ArgumentType.INT, defaultValue: 180 })
      .setAction(() => import("./tasks/agent-request.js"))
      .build(),
    chainTask("request:status", "Show a request's state: pending, expired, answered (with its output) or timed out")
      .addPositionalArgument({ name: "request", description: "The request id" })
      .addOption(inputOptions.decode)
      .addOption({ name: "fromBlock", description: "First block to search for its events", type: ArgumentType.INT, defaultValue: 0 })
      .setAction(() => import("./tasks/request-status.js"))
      .build(),
    chainTask("worker:register", "Operator: register a running worker's enclave key from its /attestation")
      .addOption({ name: "endpoint", description: "The worker's base URL", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .addOption({ name: "verifier", description: "auto | simulated | quorum (gatekeeper evidence)", defaultValue: "auto" })
      .setAction(() => import("./tasks/worker-register.js"))
      .build(),
    chainTask("staking:create-pool", "Operator: open a staking pool")
      .addOption({ name: "commission", description: "Operator commission in basis points", type: ArgumentType.INT, defaultValue: 1_000 })
      .setAction(() => import("./tasks/staking-create-pool.js"))
      .build(),
    chainTask("staking:stake", "Stake the signer's PHA in a pool")
      .addOption({ name: "pool", description: "Pool id", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .addOption({ name: "amount", description: "PHA to stake", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .setAction(() => import("./tasks/staking-stake.js"))
      .build(),
    chainTask("staking:post-bond", "Post PHA to a pool's operator bond (slashed before any staker; each worker needs minBondPerWorker)")
      .addOption({ name: "pool", description: "Pool id", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .addOption({ name: "amount", description: "PHA to post", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .setAction(() => import("./tasks/staking-post-bond.js"))
      .build(),
    chainTask("staking:add-worker", "Operator: put a registered worker into the pool (it becomes eligible for requests)")
      .addOption({ name: "pool", description: "Pool id", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .addOption({ name: "worker", description: "The worker's enclave address", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .setAction(() => import("./tasks/staking-add-worker.js"))
      .build(),
    chainTask("staking:harvest", "Collect pools' fees and due mining rewards (anyone); --watch: once per mining epoch, as mining needs")
      .addOption({ name: "pools", description: "Pool ids, comma-separated", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .addFlag({ name: "watch", description: "Keep running: harvest at the start of every mining epoch" })
      .addOption({ name: "pollSeconds", description: "With --watch: how often the chain's epoch is read", type: ArgumentType.INT, defaultValue: 60 })
      .setAction(() => import("./tasks/staking-harvest.js"))
      .build(),
    chainTask("gov:propose", "Propose calls the timelock makes once PHA holders pass them (one action, or a JSON file of them)")
      .addOption({
        name: "contract",
        description: "Target: a deployment name (router, stakingHub, ...) or an address",
        type: ArgumentType.STRING_WITHOUT_DEFAULT,
        defaultValue: undefined,
      })
      .addOption({
        name: "function",
        description: 'Function name, or full signature ("setFoo(uint256)") for a target outside the deployment',
        type: ArgumentType.STRING_WITHOUT_DEFAULT,
        defaultValue: undefined,
      })
      .addOption({
        name: "args",
        description: "The function's arguments as a JSON array (big numbers as strings)",
        type: ArgumentType.STRING_WITHOUT_DEFAULT,
        defaultValue: undefined,
      })
      .addOption({
        name: "actions",
        description: 'JSON file: [{"contract": "router", "function": "setMaxInputBytes", "args": [32768]}, ...]',
        type: ArgumentType.FILE_WITHOUT_DEFAULT,
        defaultValue: undefined,
      })
      .addOption({
        name: "description",
        description: "What the proposal does and why (its first line is its title)",
        type: ArgumentType.STRING_WITHOUT_DEFAULT,
        defaultValue: undefined,
      })
      .setAction(() => import("./tasks/gov-propose.js"))
      .build(),
    proposalTask("gov:vote", "Vote on an active proposal with the signer's PHA and staked-PHA votes at its snapshot")
      .addOption({ name: "support", description: "for | against | abstain", type: ArgumentType.STRING, defaultValue: "for" })
      .addOption({ name: "reason", description: "A reason, recorded in the VoteCast event", defaultValue: "" })
      .setAction(() => import("./tasks/gov-vote.js"))
      .build(),
    proposalTask("gov:queue", "Queue a passed proposal in the timelock (it runs after the timelock delay)")
      .setAction(() => import("./tasks/gov-queue.js"))
      .build(),
    proposalTask("gov:execute", "Execute a queued proposal whose timelock delay has passed")
      .setAction(() => import("./tasks/gov-execute.js"))
      .build(),
    chainTask("gov:status", "A proposal's state, votes, quorum, timing and actions; without an id, the settings and every proposal")
      .addPositionalArgument({ name: "proposal", description: "The proposal id", type: ArgumentType.STRING_WITHOUT_DEFAULT, defaultValue: undefined })
      .addOption({ name: "fromBlock", description: "First block to search for the proposal's description", type: ArgumentType.INT, defaultValue: 0 })
      .setAction(() => import("./tasks/gov-status.js"))
      .build(),
    chainTask("gov:delegate", "Delegate the signer's PHA votes and staked-PHA votes (to itself by default)")
      .addOption({
        name: "to",
        description: "The delegate's address (default: the signer)",
        type: ArgumentType.STRING_WITHOUT_DEFAULT,
        defaultValue: undefined,
      })
      .setAction(() => import("./tasks/gov-delegate.js"))
      .build(),
  ],
});
