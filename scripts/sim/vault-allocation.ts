/**
 * Vault allocation by performance, simulated on the in-process chain (npm run sim:vault):
 * five pools of different quality earn fees in proportion to their stake (what the router's
 * stake-weighted assignment gives them) at a per-pool rate; from epoch FAIL_AT the best pool starts
 * failing (its worker misses deadlines: no fees, a timeout slash every epoch). Two vaults of the same
 * size run side by side on separate chains with the real contracts: one managed by VaultAllocator
 * (rebalance once per epoch, anyone), one that splits equally over the pools. Both compound (claim
 * rewards, re-invest idle PHA) every epoch. Prints a table of both vaults' value and the allocator's
 * share in the failing pool, and the epochs the failing pool took to lose its allocation.
 * Env: SIM_EPOCHS (default 200).
 */
import { network } from "hardhat";
import type { VaultAllocator } from "../../types/ethers-contracts/index.js";

const EPOCHS = Number(process.env.SIM_EPOCHS ?? 200);
const FAIL_AT = Math.floor(EPOCHS / 2);
/** Fees per epoch per PHA staked, in millionths: pool quality. Pool 0 is the one that fails. */
const QUALITY_PPM = [300, 200, 150, 100, 60];
const DAY = 24 * 3600;
const DEPOSIT = 100_000;
/**
 * Each pool's own (operator and delegator) stake: the allocator never holds more than that in a pool
 * (its limit), so pools as large as the vault's cap (40% of 100,000) let it place the cap.
 */
const OPERATOR_STAKE = 40_000;
const PRINT_EVERY = 25;
const PARAMS = { maxPoolShareBps: 4_000, window: 5, minStay: 3, driftBps: 100 };
const BOUNDS = { maxPoolShareBps: 5_000, minWindow: 2, maxWindow: 10, minStay: 1, maxDriftBps: 500 };

type Strategy = "performance" | "equal";
interface Row {
  epoch: number;
  value: number;
  failingShare: number;
}

async function simulate(strategy: Strategy): Promise<Row[]> {
  const connection = await network.create();
  const { ethers } = connection;
  const [deployer] = await ethers.getSigners();
  const me = deployer!.address;
  const PHA = (n: number) => ethers.parseEther(n.toFixed(6));
  const num = (v: bigint) => Number(ethers.formatEther(v));
  const send = async (tx: Promise<{ wait(): Promise<unknown> }>) => {
    await (await tx).wait();
  };

  const pha = await ethers.deployContract("PhalaToken", [me]);
  const registry = await ethers.deployContract("MockWorkerRegistry");
  const router = await ethers.deployContract("MockRouter", [await pha.getAddress()]);
  const hub = await ethers.deployContract("StakingHub", [
    await pha.getAddress(),
    await registry.getAddress(),
    me,
    {
      minStakePerWorker: PHA(1_000),
      unbondingPeriod: 7 * DAY,
      commissionChangeDelay: 2 * DAY,
      equivocationSlashBps: 2_000,
      minCommissionBps: 0,
      maxCommissionBps: 5_000,
      minBondPerWorker: 0n,
    },
    me,
  ]);
  const hubAddress = await hub.getAddress();
  await send(router.setStaking(hubAddress));
  await send(hub.setRouter(await router.getAddress()));
  await send(pha.approve(hubAddress, ethers.MaxUint256));
  await send(pha.approve(await router.getAddress(), ethers.MaxUint256));

  const pools: bigint[] = [];
  const workers: string[] = [];
  for (let i = 0; i < QUALITY_PPM.length; i++) {
    const worker = ethers.getAddress(ethers.toBeHex(0x5100 + i, 20));
    await send(registry.setOperator(worker, me));
    await send(hub.createPool(1_000));
    const poolId = await hub.poolCount();
    await send(hub.addWorker(poolId, worker));
    await send(hub.stake(poolId, PHA(OPERATOR_STAKE)));
    pools.push(poolId);
    workers.push(worker);
  }

  const vault = await ethers.deployContract("StakingVault", [await pha.getAddress(), hubAddress, me, me]);
  const vaultAddress = await vault.getAddress();
  await send(pha.approve(vaultAddress, ethers.MaxUint256));
  await send(vault.deposit(PHA(DEPOSIT), me));
  let allocator: VaultAllocator | undefined;
  if (strategy === "performance") {
    const performance = await ethers.deployContract("PoolPerformance", [hubAddress]);
    const deployed = await ethers.deployContract("VaultAllocator", [vaultAddress, hubAddress, await performance.getAddress(), BOUNDS, PARAMS, me, me]);
    await send(vault.setManager(await deployed.getAddress()));
    await send(deployed.setCandidates(pools));
    allocator = deployed;
  } else {
    const each = PHA(DEPOSIT / pools.length);
    for (const poolId of pools) await send(vault.allocate(poolId, each));
  }

  const rows: Row[] = [];
  for (let epoch = 0; epoch < EPOCHS; epoch++) {
    // Work and fees: in proportion to each pool's stake, at its quality; the failing pool earns
    // nothing and is slashed for a timeout every epoch.
    for (let i = 0; i < pools.length; i++) {
      const state = await hub.poolState(pools[i]!);
      if (i === 0 && epoch >= FAIL_AT) {
        await send(router.slashForTimeout(workers[i]!, epoch, (state.activeStake + state.unbondingStake) / 100n, me, 0n));
        continue;
      }
      const fees = (state.activeStake * BigInt(QUALITY_PPM[i]!)) / 1_000_000n;
      if (fees > 0n) await send(router.creditFees(workers[i]!, fees));
    }
    // Compound: collect matured unbonding, claim rewards, re-invest.
    const due: bigint[] = [];
    const now = BigInt((await ethers.provider.getBlock("latest"))!.timestamp);
    for (const id of await vault.pendingWithdrawals()) {
      if ((await hub.withdrawalRequest(id)).unlockAt <= now) due.push(id);
    }
    if (due.length > 0) await send(vault.completePoolWithdrawals(due));
    for (const poolId of pools) await send(hub.harvestPool(poolId));
    await send(vault.claimPoolRewards());
    if (allocator !== undefined) {
      await send(allocator.rebalance());
    } else {
      const idle = await vault.availableLiquidity();
      if (idle > PHA(1)) for (const poolId of pools) await send(vault.allocate(poolId, idle / BigInt(pools.length)));
    }
    const gross = num(await vault.grossAssets());
    const failing = num(await hub.stakeOf(pools[0]!, vaultAddress));
    rows.push({ epoch, value: gross, failingShare: failing / gross });
    await ethers.provider.send("evm_increaseTime", [DAY]);
    await ethers.provider.send("evm_mine", []);
  }
  await connection.close();
  return rows;
}

const perf = await simulate("performance");
const equal = await simulate("equal");
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
console.log(
  `\nVault allocation over ${EPOCHS} epochs: pools earning ${QUALITY_PPM.map((q) => q / 100).join(" / ")} bp per epoch ` +
    `per PHA staked (commission 10%); pool 0 fails from epoch ${FAIL_AT} (no fees, 1% timeout slash every epoch).\n` +
    `Allocator: cap ${PARAMS.maxPoolShareBps / 100}% per pool, window ${PARAMS.window} epochs, minimum stay ${PARAMS.minStay}, drift ${PARAMS.driftBps / 100}%. ` +
    `Both vaults start with ${DEPOSIT.toLocaleString("en-US")} PHA and compound every epoch.\n`,
);
console.log("epoch | allocator vault PHA | equal-split vault PHA | allocator ahead | allocator in pool 0 | equal split in pool 0");
console.log("----- | ------------------- | --------------------- | --------------- | ------------------- | ---------------------");
for (let i = 0; i < EPOCHS; i++) {
  if (i % PRINT_EVERY !== 0 && i !== EPOCHS - 1 && i !== FAIL_AT) continue;
  const p = perf[i]!;
  const e = equal[i]!;
  console.log(
    `${String(i).padStart(5)} | ${p.value.toFixed(1).padStart(19)} | ${e.value.toFixed(1).padStart(21)} | ` +
      `${pct(p.value / e.value - 1).padStart(15)} | ${pct(p.failingShare).padStart(19)} | ${pct(e.failingShare).padStart(21)}`,
  );
}
const gone = perf.findIndex((r, i) => i >= FAIL_AT && r.failingShare === 0);
const perfYield = perf[EPOCHS - 1]!.value / DEPOSIT - 1;
const equalYield = equal[EPOCHS - 1]!.value / DEPOSIT - 1;
console.log(
  `\nYield over ${EPOCHS} epochs: allocator ${pct(perfYield)}, equal split ${pct(equalYield)}.` +
    `\nThe failing pool (failing from epoch ${FAIL_AT}) lost all the allocator's stake ${gone < 0 ? "never" : `at the rebalance of epoch ${gone}, ${gone - FAIL_AT} epoch(s) later`}.`,
);
if (!(perfYield > equalYield) || gone < 0) process.exitCode = 1;
