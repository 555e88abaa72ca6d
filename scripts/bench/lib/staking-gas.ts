/**
 * Gas of the staking hub: stake, claim, harvest (reward distribution), slash and
 * requestWithdrawal with 1, 100 and 1,000 delegators in the pool (must stay flat); the fee
 * settlement that runs before every stake and withdrawal request (one router call per worker) with
 * 1, 8 and 32 workers in the pool, with and without fees waiting on every worker; and the router's
 * per-request sampleWorker cost with 1, 10, 100 and 1,000 pools (must stay near-flat, O(log10 pools)).
 * Receipt gasUsed of whole transactions; the slash goes through a mock router. Delegators and pools
 * are created in bulk by StakingBenchPopulator, which leaves the same hub state as separate accounts.
 * The hub is wired to a StakedPhaVotes ledger, as deployed: every stake and withdrawal request
 * includes the sync of the staker's voting power.
 * With a MiningRewards reserve wired in: the fee settlement that records a pool's work, the one that
 * also pays a final epoch's reward (epoch e − 2), one withheld after a fault, and the delegator's claim after.
 * The vault's allocator: rebalance (records every candidate's performance, settling it) with 3 and 8
 * candidate pools, when it places the vault's PHA and in a steady epoch when nothing moves; its
 * reduceToLimit after the first pool's other stakers unbonded down to half the vault's stake; then the
 * vault's requestRedeem with those positions: 0.01%, 2% and 90% of the vault (the last unbonds from
 * every position).
 */
import { network } from "hardhat";
import type { GasFigure } from "./snapshot.js";

const DELEGATOR_COUNTS = [1, 100, 1_000];
const WORKER_COUNTS = [1, 8, 32];
const POOL_COUNTS = [1, 10, 100, 1_000];
const SAMPLE_SEEDS = 32;
const TREASURY = "0x0000000000000000000000000000000000007ea5";
/** Per bulk transaction, well under the block gas limit. */
const DELEGATORS_PER_TX = 100;
const POOLS_PER_TX = 25;
const BULK_GAS_LIMIT = 16_000_000n; // under the EIP-7825 per-transaction cap (2^24)

export async function measureStakingGas(): Promise<GasFigure[]> {
  const connection = await network.create();
  const { ethers } = connection;
  const [deployer, staker] = await ethers.getSigners();
  const PHA = (n: number) => ethers.parseEther(String(n));
  const STAKE = PHA(2000);
  const PARAMS = {
    minStakePerWorker: PHA(1000),
    unbondingPeriod: 7n * 24n * 3600n,
    commissionChangeDelay: 2n * 24n * 3600n,
    equivocationSlashBps: 2000,
    minCommissionBps: 0,
    maxCommissionBps: 5000,
    minBondPerWorker: 0n,
  };

  const deployHub = async () => {
    const pha = await ethers.deployContract("PhalaToken", [deployer!.address]);
    const registry = await ethers.deployContract("MockWorkerRegistry");
    const router = await ethers.deployContract("MockRouter", [await pha.getAddress()]);
    const hub = await ethers.deployContract("StakingHub", [await pha.getAddress(), await registry.getAddress(), TREASURY, PARAMS, deployer!.address]);
    const populator = await ethers.deployContract("StakingBenchPopulator");
    const hubAddress = await hub.getAddress();
    await (await router.setStaking(hubAddress)).wait();
    await (await hub.setRouter(await router.getAddress())).wait();
    const stakeVotes = await ethers.deployContract("StakedPhaVotes", [hubAddress, ethers.ZeroAddress]);
    await (await hub.setStakeVotes(await stakeVotes.getAddress())).wait();
    await (await pha.approve(hubAddress, ethers.MaxUint256)).wait();
    await (await pha.approve(await router.getAddress(), ethers.MaxUint256)).wait();
    await (await pha.transfer(staker!.address, PHA(1_000_000))).wait();
    await (await pha.transfer(await populator.getAddress(), PHA(100_000_000))).wait();
    await (await pha.connect(staker!).approve(hubAddress, ethers.MaxUint256)).wait();
    return { pha, registry, router, hub, populator };
  };
  type Hub = Awaited<ReturnType<typeof deployHub>>;

  let workerNonce = 0;
  const nextWorkers = (count: number) => {
    const first = 0x100000 + workerNonce + 1;
    workerNonce += count;
    return first;
  };
  const newPoolWithWorker = async ({ registry, hub }: Hub) => {
    const worker = ethers.getAddress(ethers.toBeHex(nextWorkers(1), 20));
    await (await registry.setOperator(worker, deployer!.address)).wait();
    const poolId = (await hub.poolCount()) + 1n;
    await (await hub.createPool(1000)).wait();
    await (await hub.addWorker(poolId, worker)).wait();
    return { poolId, worker };
  };
  const gasOf = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => {
    const receipt = await (await tx).wait();
    if (receipt === null) throw new Error("transaction dropped");
    return receipt.gasUsed;
  };

  const benchDelegators = async (deployment: Hub, delegators: number) => {
    const { hub, router, pha, populator } = deployment;
    const { poolId, worker } = await newPoolWithWorker(deployment);
    for (let done = 0; done < delegators; done += DELEGATORS_PER_TX) {
      const count = Math.min(DELEGATORS_PER_TX, delegators - done);
      const first = 0x200000 + delegators * 10_000 + done;
      await (await populator.stakeForMany(await hub.getAddress(), await pha.getAddress(), poolId, STAKE, first, count, { gasLimit: BULK_GAS_LIMIT })).wait();
    }
    await (await router.creditFees(worker, PHA(10))).wait();
    await (await hub.harvest(worker)).wait();

    const asStaker = hub.connect(staker!) as typeof hub;
    const stake = await gasOf(asStaker.stake(poolId, STAKE));
    await (await router.creditFees(worker, PHA(50))).wait();
    const harvest = await gasOf(hub.harvest(worker));
    const claim = await gasOf(asStaker.claimRewards(poolId));
    // A timeout's slash as the router makes it with the deployed parameters: 0.2 PHA, 30,000 gas at 1 gwei to the caller.
    const slash = await gasOf(router.slashForTimeout(worker, 1, PHA(0.2), deployer!.address, 30_000n * 1_000_000_000n));
    // The same with an operator bond that covers it (the deployed case): stakers untouched.
    await (await hub.postBond(poolId, PHA(1))).wait();
    const slashBond = await gasOf(router.slashForTimeout(worker, 1, PHA(0.2), deployer!.address, 30_000n * 1_000_000_000n));
    const unbond = await gasOf(asStaker.requestWithdrawal(poolId, PHA(100)));
    return { stake, harvest, claim, slash, slashBond, unbond };
  };

  const benchWorkers = async (deployment: Hub, workers: number) => {
    const { hub, router, registry } = deployment;
    const { poolId, worker } = await newPoolWithWorker(deployment);
    const all = [worker];
    for (const extra of Array.from({ length: workers - 1 }, () => ethers.getAddress(ethers.toBeHex(nextWorkers(1), 20)))) {
      await (await registry.setOperator(extra, deployer!.address)).wait();
      await (await hub.addWorker(poolId, extra)).wait();
      all.push(extra);
    }
    await (await hub.stake(poolId, STAKE * BigInt(workers))).wait();
    const creditAll = async () => {
      for (const w of all) await (await router.creditFees(w, PHA(1))).wait();
    };
    const asStaker = hub.connect(staker!) as typeof hub;
    // Warm the staker's position and every worker's fee slot, as in steady state.
    await creditAll();
    await (await asStaker.stake(poolId, STAKE)).wait();
    const stakeIdle = await gasOf(asStaker.stake(poolId, STAKE));
    await creditAll();
    const stakeFees = await gasOf(asStaker.stake(poolId, STAKE));
    await creditAll();
    const unbondFees = await gasOf(asStaker.requestWithdrawal(poolId, PHA(100)));
    const harvestIdle = await gasOf(hub.harvestPool(poolId));
    await creditAll();
    const harvestFees = await gasOf(hub.harvestPool(poolId));
    return { stakeIdle, stakeFees, unbondFees, harvestIdle, harvestFees };
  };

  const benchSampling = async (pools: number) => {
    const { hub, registry, pha, populator } = await deployHub();
    const probe = await ethers.deployContract("SampleGasProbe");
    for (let done = 0; done < pools; done += POOLS_PER_TX) {
      const count = Math.min(POOLS_PER_TX, pools - done);
      await (
        await populator.openPools(hub, registry, pha, count, nextWorkers(count), STAKE + BigInt(done) * PHA(10), PHA(10), { gasLimit: BULK_GAS_LIMIT })
      ).wait();
    }
    const hubAddress = await hub.getAddress();
    let max = 0n;
    let sum = 0n;
    for (let s = 0; s < SAMPLE_SEEDS; s++) {
      const seed = BigInt(ethers.keccak256(ethers.toBeHex(s, 32)));
      const [gasUsed, worker] = await probe.measure(hubAddress, seed);
      if (worker === ethers.ZeroAddress) throw new Error("sampled no worker");
      max = gasUsed > max ? gasUsed : max;
      sum += gasUsed;
    }
    return { avg: sum / BigInt(SAMPLE_SEEDS), max };
  };

  const benchMining = async () => {
    const deployment = await deployHub();
    const { hub, router, pha } = deployment;
    const schedule = { initialEpochBudget: PHA(1000), decayBps: 1000, decayEpochs: 30, shareBps: 8000, faultPenalty: 24 * 3600 };
    const mining = await ethers.deployContract("MiningRewards", [await pha.getAddress(), await hub.getAddress(), schedule, 3000, deployer!.address]);
    await (await hub.setMiningRewards(await mining.getAddress())).wait();
    await (await pha.approve(await mining.getAddress(), ethers.MaxUint256)).wait();
    await (await mining.fund(PHA(1_000_000))).wait();
    const nextEpoch = async () => {
      await ethers.provider.send("evm_increaseTime", [24 * 3600]);
      await ethers.provider.send("evm_mine", []);
    };
    const { poolId, worker } = await newPoolWithWorker(deployment);
    const other = await newPoolWithWorker(deployment);
    await (await hub.stake(poolId, STAKE)).wait();
    await (await hub.stake(other.poolId, STAKE)).wait();
    const asStaker = hub.connect(staker!) as typeof hub;
    await (await asStaker.stake(poolId, STAKE)).wait();
    // Another pool has already opened the epoch, as in steady state.
    await (await router.creditFees(other.worker, PHA(1))).wait();
    await (await hub.harvestPool(other.poolId)).wait();
    await (await router.creditFees(worker, PHA(1))).wait();
    const firstWork = await gasOf(hub.harvestPool(poolId));
    await (await router.creditFees(worker, PHA(1))).wait();
    const moreWork = await gasOf(hub.harvestPool(poolId));
    // Epoch e is paid from e + 2 (its work is final once e + 1 is over): one epoch more of work first.
    for (let epoch = 0; epoch < 2; ++epoch) {
      await nextEpoch();
      await (await router.creditFees(other.worker, PHA(1))).wait();
      await (await hub.harvestPool(other.poolId)).wait();
      await (await router.creditFees(worker, PHA(1))).wait();
      if (epoch === 0) await (await hub.harvestPool(poolId)).wait();
    }
    const payAndWork = await gasOf(hub.harvestPool(poolId));
    const claim = await gasOf(asStaker.claimRewards(poolId));
    await (await router.slashForTimeout(worker, 1, PHA(0.2), deployer!.address, 0n)).wait();
    await nextEpoch();
    await (await router.creditFees(worker, PHA(1))).wait();
    const withheld = await gasOf(hub.harvestPool(poolId));
    if ((await mining.released()) === 0n) throw new Error("no mining reward paid");
    return { firstWork, moreWork, payAndWork, withheld, claim };
  };

  // The vault holds at most the rest of a pool's stake (VaultAllocator's limit): pools as large as
  // the vault let the rule place it.
  const POOL_STAKE = PHA(100_000);
  const benchAllocator = async (candidates: number) => {
    const deployment = await deployHub();
    const { hub, router, pha } = deployment;
    const hubAddress = await hub.getAddress();
    const vault = await ethers.deployContract("StakingVault", [await pha.getAddress(), hubAddress, deployer!.address, deployer!.address]);
    const performance = await ethers.deployContract("PoolPerformance", [hubAddress]);
    const allocator = await ethers.deployContract("VaultAllocator", [
      await vault.getAddress(),
      hubAddress,
      await performance.getAddress(),
      { maxPoolShareBps: 5000, minWindow: 2, maxWindow: 10, minStay: 1, maxDriftBps: 500 },
      { maxPoolShareBps: 4000, window: 3, minStay: 2, driftBps: 100 },
      deployer!.address,
      deployer!.address,
    ]);
    await (await vault.setManager(await allocator.getAddress())).wait();
    const pools: { poolId: bigint; worker: string }[] = [];
    for (let i = 0; i < candidates; i++) {
      const p = await newPoolWithWorker(deployment);
      await (await hub.stake(p.poolId, POOL_STAKE)).wait();
      pools.push(p);
    }
    await (await allocator.setCandidates(pools.map((p) => p.poolId))).wait();
    await (await pha.approve(await vault.getAddress(), ethers.MaxUint256)).wait();
    await (await vault.deposit(PHA(100_000), deployer!.address)).wait();
    const epoch = async () => {
      for (const [i, p] of pools.entries()) await (await router.creditFees(p.worker, PHA(i + 1))).wait();
      const gas = await gasOf(allocator.rebalance());
      await ethers.provider.send("evm_increaseTime", [24 * 3600]);
      await ethers.provider.send("evm_mine", []);
      return gas;
    };
    for (let i = 0; i < 3; i++) await epoch(); // the window's history
    const places = await epoch();
    // The vault enters each pool with at most half the pool's kept stake, then closes half the gap to
    // the rest's stake per window: let it fill up (the window's length, 3, without a move) before
    // measuring a steady epoch.
    const held = async () => Promise.all(pools.map((p) => hub.stakeOf(p.poolId, vault.getAddress())));
    let before = await held();
    for (let i = 0, still = 0; i < 20 && still < 4; i++) {
      await epoch();
      const after = await held();
      still = after.every((v, j) => v === before[j]) ? still + 1 : 0;
      before = after;
    }
    // Weights are capped at 40% x score / best score: with 3 pools paying 1 : 2 : 3, 20% stays idle.
    if ((await vault.availableLiquidity()) > PHA(25_000)) throw new Error("allocator placed too little");
    const steady = await epoch();
    const vaultAddress = await vault.getAddress();
    // The rest of the first pool unbonds all but half the vault's stake there: anyone brings the vault
    // down to the new limit.
    const first = pools[0]!.poolId;
    const keep = await hub.sharesForStake(first, (await hub.stakeOf(first, vaultAddress)) / 2n);
    await (await hub.requestWithdrawal(first, (await hub.sharesOf(first, deployer!.address)) - keep)).wait();
    const reduce = await gasOf(allocator.reduceToLimit(first));
    // requestRedeem unbonds the shortfall (what idle PHA, unclaimed rewards and unbonding requests do
    // not cover) from the vault's positions in pool order: a small redemption, one of 2% (part of
    // one position) and one of 90% of what is left (every position).
    const redeem = async (fraction: number) => {
      const shares = ((await vault.balanceOf(deployer!.address)) * BigInt(Math.round(fraction * 1e6))) / 1_000_000n;
      const opened = (await vault.pendingWithdrawals()).length;
      const gas = await gasOf(vault.requestRedeem(shares, deployer!.address));
      return { gas, unbonded: (await vault.pendingWithdrawals()).length - opened };
    };
    const small = await redeem(0.0001);
    const one = await redeem(0.02);
    const all = await redeem(0.9);
    if (all.unbonded < pools.length - 1) throw new Error(`90% redemption unbonded from ${all.unbonded} pools (vault ${vaultAddress})`);
    console.log(`requestRedeem with ${pools.length} positions: pools unbonded ${small.unbonded} / ${one.unbonded} / ${all.unbonded}`);
    return { places, steady, reduce, redeemIdle: small.gas, redeemOne: one.gas, redeemAll: all.gas };
  };

  const figures: GasFigure[] = [];
  for (const candidates of [3, 8]) {
    const r = await benchAllocator(candidates);
    const table = "VaultAllocator.rebalance (records and settles every candidate)";
    const row = `${candidates} candidate pools`;
    figures.push({ table, row, column: "places the vault's PHA", gas: r.places }, { table, row, column: "steady epoch", gas: r.steady });
    figures.push({ table: "VaultAllocator.reduceToLimit (the pool's other stakers left to half the vault's stake)", row, column: "gas", gas: r.reduce });
    const redeemTable = "StakingVault.requestRedeem (unbonds the shortfall across the vault's positions)";
    figures.push(
      { table: redeemTable, row, column: "0.01% of the vault", gas: r.redeemIdle },
      { table: redeemTable, row, column: "2% of the vault", gas: r.redeemOne },
      { table: redeemTable, row, column: "90% of the vault", gas: r.redeemAll },
    );
  }
  {
    const r = await benchMining();
    const table = "Mining rewards on fee settlement (1 worker, 1 PHA of fees)";
    figures.push(
      { table, row: "harvestPool", column: "records work (pool's first in epoch)", gas: r.firstWork },
      { table, row: "harvestPool", column: "records more work", gas: r.moreWork },
      { table, row: "harvestPool", column: "pays epoch e − 2 + records work", gas: r.payAndWork },
      { table, row: "harvestPool", column: "withheld after a fault", gas: r.withheld },
      { table, row: "harvestPool", column: "claimRewards after", gas: r.claim },
    );
  }
  const deployment = await deployHub();
  // Warm-up run, not reported: the first slash and withdrawal also pay for first-time storage
  // (treasury and reporter balances, counters) that every later run finds already written.
  await benchDelegators(deployment, 1);
  for (const count of DELEGATOR_COUNTS) {
    const r = await benchDelegators(deployment, count);
    const table = "StakingHub by delegators in the pool";
    const row = `${count.toLocaleString("en-US")} delegator${count === 1 ? "" : "s"}`;
    figures.push(
      { table, row, column: "stake", gas: r.stake },
      { table, row, column: "harvest (distribute)", gas: r.harvest },
      { table, row, column: "claimRewards", gas: r.claim },
      { table, row, column: "slashForTimeout", gas: r.slash },
      { table, row, column: "slashForTimeout, bond pays", gas: r.slashBond },
      { table, row, column: "requestWithdrawal", gas: r.unbond },
    );
  }
  for (const workers of WORKER_COUNTS) {
    const r = await benchWorkers(deployment, workers);
    const table = "Fee settlement by workers in the pool (fees: 1 PHA waiting on every worker)";
    const row = `${workers} worker${workers === 1 ? "" : "s"}`;
    figures.push(
      { table, row, column: "stake, no fees", gas: r.stakeIdle },
      { table, row, column: "stake, fees", gas: r.stakeFees },
      { table, row, column: "requestWithdrawal, fees", gas: r.unbondFees },
      { table, row, column: "harvestPool, no fees", gas: r.harvestIdle },
      { table, row, column: "harvestPool, fees", gas: r.harvestFees },
    );
  }
  for (const pools of POOL_COUNTS) {
    const r = await benchSampling(pools);
    const table = `sampleWorker as the router pays it (cold call, ${SAMPLE_SEEDS} seeds)`;
    const row = `${pools.toLocaleString("en-US")} pool${pools === 1 ? "" : "s"}`;
    figures.push({ table, row, column: "avg", gas: r.avg }, { table, row, column: "max", gas: r.max });
  }
  await connection.close();
  return figures;
}
