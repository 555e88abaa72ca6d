import { expect } from "chai";
import { network } from "hardhat";
import { Wallet, keccak256, toUtf8Bytes, type BaseContract, type EventLog, type FunctionFragment } from "ethers";
import { addConsumer, createAccount, fundAccount } from "../../devkit/billing.js";
import { attachAgentNetwork, withSigner, type AgentNetwork } from "../../devkit/contracts.js";
import { deployAgentNetwork } from "../../devkit/deployment.js";
import { encodeAction, govern } from "../../devkit/governance.js";
import { TIMELOCK_ROLES } from "../../ignition/modules/AgentNetwork.js";
import { bringWorkerOnline, fundOperator, simulatedAttestation } from "../../devkit/workers.js";
import { FULFILLMENT_TYPES, routerDomain } from "../../protocol/fulfillment.js";
import { requestHash, toAgentRequest, type AgentRequest } from "../../protocol/request.js";
import { SIMULATED_MEASUREMENT } from "../../protocol/attestation.js";

const connection = await network.create();
const { ethers, networkHelpers } = connection;
const PHA = (n: string | number) => ethers.parseEther(String(n));

describe("devkit deployment: router + real StakingHub (Ignition module), worker brought online", function () {
  let net: AgentNetwork;
  let enclave: Wallet;
  let accountId: bigint;

  async function request(input = "hello"): Promise<AgentRequest> {
    const receipt = await (await net.router.request(accountId, 1, toUtf8Bytes(input), 0, 100_000, PHA(5))).wait();
    for (const log of receipt!.logs) {
      const parsed = net.router.interface.parseLog(log);
      if (parsed?.name === "AgentRequested") return toAgentRequest(parsed.args.request.toObject());
    }
    throw new Error("no AgentRequested");
  }

  before(async function () {
    const [deployer, operator, agentOwner] = await ethers.getSigners();
    net = await attachAgentNetwork(connection, await deployAgentNetwork(connection, { outDir: null }), deployer!);
    enclave = Wallet.createRandom() as unknown as Wallet;
    await fundOperator(net, operator!, PHA(10_000));
    await bringWorkerOnline(withSigner(net, operator!), await simulatedAttestation(net, enclave, operator!.address), {
      endpoint: "http://127.0.0.1:1",
      stake: PHA(10_000),
    });
    await (await net.agentRegistry.connect(agentOwner!).registerAgent(keccak256(toUtf8Bytes("code")), "file:///a.js", PHA(1), [], true)).wait();
    accountId = await createAccount(net);
    await addConsumer(net, accountId, deployer!.address);
    await fundAccount(net, accountId, PHA(1_000));
  });

  it("wires every contract to the others", async function () {
    expect(await net.router.staking()).to.equal(await net.stakingHub.getAddress());
    expect(await net.router.keyRegistry()).to.equal(await net.keyRegistry.getAddress());
    expect(await net.stakingHub.router()).to.equal(await net.router.getAddress());
    expect(await net.workerRegistry.router()).to.equal(await net.router.getAddress());
    expect(await net.workerRegistry.isVerifierApproved(await net.simulatedVerifier.getAddress())).to.equal(true);
    expect(await net.workerRegistry.isVerifierApproved(await net.quorumVerifier.getAddress())).to.equal(true);
    expect(await net.workerRegistry.isMeasurementApproved(SIMULATED_MEASUREMENT)).to.equal(true);
    expect(net.deployment.chainId).to.equal(31337);
  });

  /**
   * Nothing here is hand-listed: the contracts are every contract created on the chain, the owners
   * and roles are whatever each contract's ABI exposes, and role holders are replayed from the
   * RoleGranted/RoleRevoked events, so a contract, owner or role added later is checked too.
   */
  it("hands every owner and role of every contract to the timelock; no deployer key keeps any power", async function () {
    const signers = await ethers.getSigners();
    const deployer = signers[0]!.address;
    const guardian = signers[6]!.address;
    const timelock = await net.timelock.getAddress();
    const governor = await net.governor.getAddress();
    const contracts = Object.entries(net.deployment.contracts).map(([key, address]) => ({
      key,
      address,
      contract: (net as unknown as Record<string, BaseContract>)[key]!,
    }));

    // Every contract created so far is one of the deployment's (none escapes the checks below).
    const created: string[] = [];
    for (let n = 0; n <= (await ethers.provider.getBlockNumber()); n++) {
      const block = await ethers.provider.getBlock(n, true);
      for (const tx of block!.prefetchedTransactions) {
        const receipt = await ethers.provider.getTransactionReceipt(tx.hash);
        if (receipt?.contractAddress) created.push(receipt.contractAddress);
      }
    }
    expect(created.length).to.be.greaterThan(0);
    expect(new Set(created)).to.deep.equal(new Set(contracts.map((c) => c.address)));

    const views = (contract: BaseContract) =>
      contract.interface.fragments.filter(
        (f): f is FunctionFragment => f.type === "function" && (f as FunctionFragment).constant && (f as FunctionFragment).inputs.length === 0,
      ) as FunctionFragment[];
    const deployerAddresses: string[] = [];
    let owned = 0;
    let roleHolders = 0;
    for (const { key, contract } of contracts) {
      const call = (name: string, ...args: unknown[]) => contract.getFunction(name).staticCall(...args);
      // Owners (Ownable2Step): the timelock, with nothing pending.
      if (contract.interface.getFunction("owner") !== null) {
        owned++;
        expect(await call("owner"), `${key}.owner`).to.equal(timelock);
        if (contract.interface.getFunction("pendingOwner") !== null) expect(await call("pendingOwner"), `${key}.pendingOwner`).to.equal(ethers.ZeroAddress);
      }
      // Addresses the contract stores (manager, router, signer, treasury, ...) that are the deployer.
      for (const f of views(contract).filter((f) => f.outputs.length === 1 && f.outputs[0]!.type === "address")) {
        if ((await call(f.name)) === deployer) deployerAddresses.push(`${key}.${f.name}`);
      }
      // Roles (AccessControl): every role the ABI names and every role ever granted.
      if (contract.interface.getFunction("hasRole") === null) continue;
      const named = new Map<string, string>();
      for (const f of views(contract).filter((f) => f.name.endsWith("_ROLE") && f.outputs[0]?.type === "bytes32")) named.set(await call(f.name), f.name);
      const adminRole = [...named].find(([, n]) => n === "DEFAULT_ADMIN_ROLE")?.[0];
      expect(adminRole, `${key}: no DEFAULT_ADMIN_ROLE`).to.not.equal(undefined);
      const events = [...(await contract.queryFilter("RoleGranted")), ...(await contract.queryFilter("RoleRevoked"))].sort(
        (a, b) => a.blockNumber - b.blockNumber || a.index - b.index,
      );
      const holders = new Map<string, Set<string>>();
      for (const event of events as EventLog[]) {
        const [role, account] = event.args as unknown as [string, string];
        if (!holders.has(role)) holders.set(role, new Set());
        if (event.eventName === "RoleGranted") holders.get(role)!.add(account);
        else holders.get(role)!.delete(account);
      }
      for (const role of new Set([...named.keys(), ...holders.keys()])) {
        const name = named.get(role) ?? role;
        expect(named.has(role), `${key}: granted role ${role} has no name in the ABI`).to.equal(true);
        expect(await call("getRoleAdmin", role), `${key}: ${name} is administered by the admin role`).to.equal(adminRole);
        for (const signer of signers) {
          const expected = name === "GUARDIAN_ROLE" && signer.address === guardian;
          expect(await call("hasRole", role, signer.address), `${key}: ${signer.address} holds ${name}`).to.equal(expected);
        }
        const current = [...(holders.get(role) ?? [])];
        for (const account of current) expect(await call("hasRole", role, account), `${key}: ${account} holds ${name}`).to.equal(true);
        roleHolders += current.length;
        // Who holds it: the timelock administers, the governor alone proposes, cancels and executes.
        const want = {
          DEFAULT_ADMIN_ROLE: [timelock],
          PROPOSER_ROLE: [governor],
          CANCELLER_ROLE: [governor],
          EXECUTOR_ROLE: [governor],
          GUARDIAN_ROLE: [guardian],
        }[name];
        expect(want, `${key}: unexpected role ${name}`).to.not.equal(undefined);
        expect(current.sort(), `${key}: holders of ${name}`).to.deep.equal([...want!].sort());
      }
    }
    // The deployer is only the default development treasury: a payee of fees and slashes, no power.
    expect(deployerAddresses.sort()).to.deep.equal(["router.treasury", "stakingHub.treasury"]);
    expect(owned).to.equal(8, "router, worker registry, hub, vault, quorum verifier, key registry, mining reserve, allocator");
    expect(roleHolders).to.equal(5);
    expect(await net.governor.timelock()).to.equal(timelock);
    expect(await net.timelock.isGuardianPausable(await net.router.getAddress())).to.equal(true);
    expect(await net.stakingHub.stakeVotes()).to.equal(await net.stakeVotes.getAddress());
    expect(await net.stakingVault.stakeVotes()).to.equal(await net.stakeVotes.getAddress());
    expect(await net.governor.stakeVotes()).to.equal(await net.stakeVotes.getAddress());
    // The deployer, owner until the hand-over, can change nothing directly any more.
    await expect(net.router.setMaxInputBytes(1)).to.be.revertedWithCustomError(net.router, "OwnableUnauthorizedAccount");
    await expect(net.workerRegistry.setMeasurementApproved(ethers.ZeroHash, true)).to.be.revertedWithCustomError(
      net.workerRegistry,
      "OwnableUnauthorizedAccount",
    );
    await expect(net.timelock.grantRole(TIMELOCK_ROLES.proposer, deployer)).to.be.revertedWithCustomError(net.timelock, "AccessControlUnauthorizedAccount");
  });

  it("wires the economy: the hub reports work to a funded mining reserve, and the allocator manages the vault", async function () {
    const timelock = await net.timelock.getAddress();
    const hub = await net.stakingHub.getAddress();
    const mining = await net.miningRewards.getAddress();
    expect(await net.stakingHub.miningRewards()).to.equal(mining);
    expect(await net.miningRewards.hub()).to.equal(hub);
    expect(await net.miningRewards.funded()).to.be.greaterThan(0n);
    expect(await net.pha.balanceOf(mining)).to.equal(await net.miningRewards.funded());
    expect(await net.miningRewards.funded()).to.be.at.most(await net.miningRewards.reserveCap());
    expect((await net.miningRewards.schedule()).initialEpochBudget).to.be.greaterThan(0n);
    expect(await net.poolPerformance.hub()).to.equal(hub);
    expect(await net.vaultAllocator.vault()).to.equal(await net.stakingVault.getAddress());
    expect(await net.vaultAllocator.hub()).to.equal(hub);
    expect(await net.vaultAllocator.performance()).to.equal(await net.poolPerformance.getAddress());
    expect(await net.stakingVault.manager()).to.equal(await net.vaultAllocator.getAddress(), "the rule is the vault's manager");
    expect(await net.vaultAllocator.curator()).to.equal(timelock, "candidates are listed by proposal");
    expect(await net.vaultAllocator.owner()).to.equal(timelock);
    expect(await net.miningRewards.owner()).to.equal(timelock);
    // Nobody can allocate the vault by hand any more, the deployer least of all.
    await expect(net.stakingVault.allocate(1, 1)).to.be.revertedWithCustomError(net.stakingVault, "NotManager");
    await expect(net.vaultAllocator.setCandidates([1])).to.be.revertedWithCustomError(net.vaultAllocator, "NotCurator");
    // The rule runs for anyone (nothing listed yet: it records nothing and moves nothing).
    await (await net.vaultAllocator.rebalance()).wait();
  });

  it("sizes the operator bond for a worker's whole queue timing out at full utilisation (review s26 C-3)", async function () {
    const config = await net.router.feeConfig();
    // The longest relay a request can hold (the router's _relayGas for the largest callback) and the
    // capacity fee it pays at utilisation 1: what a timeout slashes on top of the miss penalty.
    const relayGas =
      config.maxCallbackGasLimit +
      config.fulfillOverheadGas +
      (await net.router.ESTIMATED_FULFIL_EXECUTION_GAS()) +
      (await net.router.MAX_OUTPUT_BYTES()) * (await net.router.OUTPUT_GAS_PER_BYTE());
    const maxCapacityFee = relayGas * config.requestTimeout * (await net.router.capacityPrice());
    const penalty = (config.workerFee * config.timeoutPenaltyBps) / 10_000n;
    const worstQueue = config.maxPendingPerWorker * (penalty + maxCapacityFee);
    expect((await net.stakingHub.params()).minBondPerWorker).to.be.at.least(worstQueue);
  });

  it("credits the operator's stake with votes, and the deployer's PHA, once delegated, passes proposals", async function () {
    const [deployer] = await ethers.getSigners();
    expect(await net.pha.delegates(deployer!.address)).to.equal(ethers.ZeroAddress, "nobody's PHA is delegated at deployment");
    const [, operator] = await ethers.getSigners();
    expect(await net.stakeVotes.getVotes(operator!.address)).to.equal(PHA(10_000));
    expect(await net.pha.delegates(await net.stakingHub.getAddress())).to.equal(ethers.ZeroAddress);
    const wanted = (await net.router.maxInputBytes()) * 2n;
    const info = await govern(
      connection,
      net,
      [encodeAction(net, { contract: "router", function: "setMaxInputBytes", args: [wanted] })],
      "Double the input limit",
    );
    expect(info.state).to.equal("Executed");
    expect(await net.router.maxInputBytes()).to.equal(wanted);
    expect(await net.pha.delegates(deployer!.address)).to.equal(deployer!.address, "govern delegated first");
  });

  it("assigns the staked worker, settles its answer, and pays the pool through harvest", async function () {
    const req = await request();
    expect(req.worker).to.equal(enclave.address);
    const output = toUtf8Bytes("ok");
    const { chainId } = await ethers.provider.getNetwork();
    const signature = await enclave.signTypedData(routerDomain(chainId, await net.router.getAddress()), FULFILLMENT_TYPES as never, {
      requestId: req.id,
      requestHash: requestHash(req),
      outputHash: keccak256(output),
      status: 0,
      subAgentIds: [],
      subAgentPrices: [],
      worker: enclave.address,
    });
    await (await net.router.fulfill({ request: req, status: 0, output, subAgentIds: [], subAgentPrices: [], signature })).wait();
    const fee = await net.router.workerFees(enclave.address);
    expect(fee).to.be.greaterThan(0n);
    const hubBefore = await net.pha.balanceOf(await net.stakingHub.getAddress());
    await (await net.stakingHub.harvest(enclave.address)).wait();
    expect(await net.router.workerFees(enclave.address)).to.equal(0n);
    expect(await net.pha.balanceOf(await net.stakingHub.getAddress())).to.equal(hubBefore + fee);
  });

  it("refunds a timed-out request and slashes the worker's pool, rewarding the caller", async function () {
    const [, , , reporter] = await ethers.getSigners();
    const req = await request("late");
    const accountBefore = await net.router.accountOf(accountId);
    const hubBefore = await net.pha.balanceOf(await net.stakingHub.getAddress());
    const reporterBefore = await net.pha.balanceOf(reporter!.address);
    await networkHelpers.time.increaseTo(req.deadline + 1n);
    await expect(net.router.connect(reporter!).timeout(req)).to.emit(net.stakingHub, "Slashed");
    const accountAfter = await net.router.accountOf(accountId);
    expect(accountAfter.reserved).to.equal(accountBefore.reserved - req.maxFee);
    expect(accountAfter.balance).to.equal(accountBefore.balance);
    expect(await net.pha.balanceOf(await net.stakingHub.getAddress())).to.be.lessThan(hubBefore);
    expect(await net.pha.balanceOf(reporter!.address)).to.be.greaterThan(reporterBefore);
  });
});
