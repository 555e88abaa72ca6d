import { expect } from "chai";
import { PRAGUE, PRE_PRAGUE, calldataTokens, gasLimitBound, gasLimitFor, probeGasSchedule } from "../../bridge/src/chain/gas-schedule.js";
import { JsonRpcChainClient } from "../../bridge/src/chain/json-rpc-chain-client.js";
import { DEV_ROLES, devKey } from "../../bridge/dev/accounts.js";
import { startLocalNode } from "../../bridge/dev/local-node.js";
import type { Hex } from "../../protocol/hex.js";

describe("bridge gas schedule (calldata priced as the fork does)", function () {
  this.timeout(60_000);

  it("counts calldata tokens: 1 per zero byte, 4 per non-zero byte", () => {
    expect(calldataTokens("0x")).to.equal(0n);
    expect(calldataTokens("0x0000ff01")).to.equal(10n);
  });

  it("prices a calldata-heavy transaction at the EIP-7623 floor, and an execution-heavy one at its standard cost", () => {
    const heavy: Hex = `0x${"ab".repeat(100_000)}`;
    // 400,000 tokens: standard 21,000 + 1,600,000 + execution; floor 21,000 + 4,000,000.
    expect(gasLimitFor(heavy, 500_000n, PRAGUE)).to.equal(4_021_000n);
    expect(gasLimitFor(heavy, 500_000n, PRE_PRAGUE)).to.equal(2_121_000n);
    expect(gasLimitFor("0x01", 500_000n, PRAGUE)).to.equal(521_016n);
    expect(gasLimitBound(100_000, 500_000n, PRAGUE)).to.equal(4_021_000n);
  });

  it("reads the floor off the node: anvil and Hardhat run Prague", async () => {
    for (const kind of ["anvil", "hardhat"] as const) {
      const node = await startLocalNode({ kind });
      try {
        const chain = new JsonRpcChainClient({ rpcUrl: node.url, router: `0x${"00".repeat(20)}`, privateKey: devKey(DEV_ROLES.bridge) });
        expect(await probeGasSchedule((data) => chain.estimateGas(data, chain.account))).to.deep.equal(PRAGUE, kind);
      } finally {
        await node.stop();
      }
    }
  });

  it("reads no floor off a chain before Prague", async () => {
    expect(await probeGasSchedule(async (data) => 21_000n + 16n * BigInt((data.length - 2) / 2))).to.deep.equal(PRE_PRAGUE);
  });
});
