/**
 * Gas benchmark of the staking hub: stake, claim, harvest (reward distribution), slash and
 * requestWithdrawal with 1, 100 and 1,000 delegators in the pool (must stay flat); stake,
 * requestWithdrawal and harvestPool with 1, 8 and 32 workers in the pool (each settles every
 * worker's fees first: one router call per worker), with and without fees waiting on every worker;
 * and the router's per-request sampleWorker cost with 1, 10, 100 and 1,000 pools (must stay
 * near-flat, O(log10 pools)).
 *
 * Run: npm run bench:staking   (npx hardhat run scripts/bench/staking.ts)
 */
import { network } from "hardhat";

const { ethers } = await network.create();
const [deployer, staker] = await ethers.getSigners();

const PARAMS = {
  minStakePerWorker: ethers.parseEther("1000"),
  unbondingPeriod: 7n * 24n * 3600n,
  commissionChangeDelay: 2n * 24n * 3600n,
  timeoutSlashBps: 100,
  equivocationSlashBps: 2000,
  reporterShareBps: 1000,
  wrongedShareBps: 4000,
  minCommissionBps: 0,
  maxCommissionBps: 5000,
};
const DELEGATOR_COUNTS = [1, 100, 1_000];
const WORKER_COUNTS = [1, 8, 32];
const POOL_COUNTS = [1, 10, 100, 1_000];
const SAMPLE_SEEDS = 32;
const STAKE = ethers.parseEther("2000");
const TREASURY = "0x0000000000000000000000000000000000007ea5";

async function deployHub() {
  const pha = await ethers.deployContract("PhalaToken", [deployer.address]);
  const registry = await ethers.deployContract("MockWorkerRegistry");
  const router = await ethers.deployContract("MockRouter", [await pha.getAddress()]);
  const hub = await ethers.deployContract("StakingHub", [
    await pha.getAddress(),
    await registry.getAddress(),
    TREASURY,
    PARAMS,
    deployer.address,
  ]);
  const hubAddress = await hub.getAddress();
  await (await router.setStaking(hubAddress)).wait();
  await (await hub.setRouter(await router.getAddress())).wait();
  await (await pha.approve(hubAddress, ethers.MaxUint256)).wait();
  await (await pha.approve(await router.getAddress(), ethers.MaxUint256)).wait();
  await (await pha.transfer(staker.address, ethers.parseEther("1000000"))).wait();
  await (await pha.connect(staker).approve(hubAddress, ethers.MaxUint256)).wait();
  return { pha, registry, router, hub };
}

type Hub = Awaited<ReturnType<typeof deployHub>>;

let workerNonce = 0;
async function newPoolWithWorker({ registry, hub }: Hub): Promise<{ poolId: bigint; worker: string }> {
  const worker = ethers.getAddress(ethers.toBeHex(0x100000 + ++workerNonce, 20));
  await (await registry.setOperator(worker, deployer.address)).wait();
  const poolId = await hub.poolCount.staticCall().then((n: bigint) => n + 1n);
  await (await hub.createPool(1000)).wait();
  await (await hub.addWorker(poolId, worker)).wait();
  return { poolId, worker };
}

async function gasOf(tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>): Promise<bigint> {
  const receipt = await (await tx).wait();
  if (receipt === null) throw new Error("transaction dropped");
  return receipt.gasUsed;
}

async function benchDelegators(deployment: Hub, delegators: number) {
  const { hub, router } = deployment;
  const { poolId, worker } = await newPoolWithWorker(deployment);
  for (let i = 0; i < delegators; i++) {
    const delegator = ethers.getAddress(ethers.toBeHex(0x200000 + delegators * 10_000 + i, 20));
    await (await hub.stakeFor(poolId, STAKE, delegator)).wait();
  }
  await (await router.creditFees(worker, ethers.parseEther("10"))).wait();
  await (await hub.harvest(worker)).wait();

  const stake = await gasOf((hub.connect(staker) as typeof hub).stake(poolId, STAKE));
  await (await router.creditFees(worker, ethers.parseEther("50"))).wait();
  const harvest = await gasOf(hub.harvest(worker));
  const claim = await gasOf((hub.connect(staker) as typeof hub).claimRewards(poolId));
  const slash = await gasOf(router.slashForTimeout(worker, 1, staker.address, deployer.address));
  const unbond = await gasOf((hub.connect(staker) as typeof hub).requestWithdrawal(poolId, ethers.parseEther("100")));
  return { delegators, stake, harvest, claim, slash, unbond };
}

async function benchWorkers(deployment: Hub, workers: number) {
  const { hub, router, registry } = deployment;
  const { poolId, worker } = await newPoolWithWorker(deployment);
  const all = [worker];
  for (let i = 1; i < workers; i++) {
    const extra = ethers.getAddress(ethers.toBeHex(0x300000 + workers * 1_000 + i, 20));
    await (await registry.setOperator(extra, deployer.address)).wait();
    await (await hub.addWorker(poolId, extra)).wait();
    all.push(extra);
  }
  await (await hub.stake(poolId, STAKE * BigInt(workers))).wait();
  const creditAll = async () => {
    for (const w of all) await (await router.creditFees(w, ethers.parseEther("1"))).wait();
  };
  const staker_ = hub.connect(staker) as typeof hub;
  // Warm the staker's position and every worker's fee slot, as in steady state.
  await creditAll();
  await (await staker_.stake(poolId, STAKE)).wait();
  const stakeIdle = await gasOf(staker_.stake(poolId, STAKE));
  await creditAll();
  const stakeFees = await gasOf(staker_.stake(poolId, STAKE));
  await creditAll();
  const unbondFees = await gasOf(staker_.requestWithdrawal(poolId, ethers.parseEther("100")));
  const harvestIdle = await gasOf(hub.harvestPool(poolId));
  await creditAll();
  const harvestFees = await gasOf(hub.harvestPool(poolId));
  return { workers, stakeIdle, stakeFees, unbondFees, harvestIdle, harvestFees };
}

async function benchSampling(pools: number) {
  const deployment = await deployHub();
  const probe = await ethers.deployContract("SampleGasProbe");
  for (let i = 0; i < pools; i++) {
    const { poolId } = await newPoolWithWorker(deployment);
    await (await deployment.hub.stake(poolId, STAKE + BigInt(i) * ethers.parseEther("10"))).wait();
  }
  const hubAddress = await deployment.hub.getAddress();
  let max = 0n;
  let sum = 0n;
  for (let s = 0; s < SAMPLE_SEEDS; s++) {
    const seed = BigInt(ethers.keccak256(ethers.toBeHex(s, 32)));
    const [gasUsed, worker] = await probe.measure(hubAddress, seed);
    if (worker === ethers.ZeroAddress) throw new Error("sampled no worker");
    max = gasUsed > max ? gasUsed : max;
    sum += gasUsed;
  }
  return { pools, avg: sum / BigInt(SAMPLE_SEEDS), max };
}

const deployment = await deployHub();
// Warm-up run, not reported: the first slash and withdrawal also pay for first-time storage
// (treasury and reporter balances, counters) that every later run finds already written.
await benchDelegators(deployment, 1);
const delegatorRows = [];
for (const count of DELEGATOR_COUNTS) delegatorRows.push(await benchDelegators(deployment, count));
console.log("\nStakingHub gas per transaction (receipt gasUsed; slash goes through the mock router)");
console.table(
  delegatorRows.map((r) => ({
    delegators: r.delegators,
    stake: Number(r.stake),
    "harvest (distribute)": Number(r.harvest),
    claimRewards: Number(r.claim),
    slashForTimeout: Number(r.slash),
    requestWithdrawal: Number(r.unbond),
  })),
);

const workerRows = [];
for (const count of WORKER_COUNTS) workerRows.push(await benchWorkers(deployment, count));
console.log("Fee settlement before share changes: gas by workers in the pool (fees = 1 PHA waiting on every worker)");
console.table(
  workerRows.map((r) => ({
    workers: r.workers,
    "stake (no fees)": Number(r.stakeIdle),
    "stake (fees)": Number(r.stakeFees),
    "requestWithdrawal (fees)": Number(r.unbondFees),
    "harvestPool (no fees)": Number(r.harvestIdle),
    "harvestPool (fees)": Number(r.harvestFees),
  })),
);

const samplingRows = [];
for (const pools of POOL_COUNTS) samplingRows.push(await benchSampling(pools));
console.log(`sampleWorker as the router pays it (cold call from a contract, ${SAMPLE_SEEDS} seeds)`);
console.table(samplingRows.map((r) => ({ pools: r.pools, "avg gas": Number(r.avg), "max gas": Number(r.max) })));
