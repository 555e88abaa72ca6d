import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { ErrorFragment, Interface, ParamType, ZeroAddress, getAddress, type InterfaceAbi } from "ethers";
import { decodeRevert } from "../../bridge/src/chain/contracts.js";
import { revertData } from "../../bridge/src/chain/json-rpc.js";
import { RpcError } from "../../bridge/src/errors.js";
import type { Hex } from "../../protocol/hex.js";

/** Compiled contracts the system deploys (mocks and examples are test/demo code, not part of it). */
function deployedArtifacts(dir = join("artifacts", "contracts")): { name: string; abi: InterfaceAbi }[] {
  const found: { name: string; abi: InterfaceAbi }[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) {
      if (entry === "mocks" || entry === "examples") continue;
      found.push(...deployedArtifacts(path));
    } else if (entry.endsWith(".json") && !entry.endsWith(".dbg.json")) {
      const artifact = JSON.parse(readFileSync(path, "utf8")) as { contractName?: string; abi?: InterfaceAbi };
      if (artifact.abi) found.push({ name: artifact.contractName ?? entry, abi: artifact.abi });
    }
  }
  return found;
}

/** A valid value of any ABI type, to build revert data the way the contract would. */
function sample(param: ParamType): unknown {
  if (param.isArray()) return param.arrayLength > 0 ? Array.from({ length: param.arrayLength }, () => sample(param.arrayChildren)) : [];
  if (param.isTuple()) return param.components.map(sample);
  const type = param.baseType;
  if (type === "address") return ZeroAddress;
  if (type === "bool") return true;
  if (type === "string") return "x";
  if (type === "bytes") return "0x01";
  if (type.startsWith("bytes")) return `0x${"11".repeat(Number(type.slice(5)))}`;
  return 1n;
}

describe("bridge contract errors", () => {
  const artifacts = deployedArtifacts();

  it("finds the compiled contracts", () => {
    expect(artifacts.map((a) => a.name)).to.include.members(["AgentRouter", "WorkerRegistry", "StakingHub"]);
  });

  it("decodes every custom error of every deployed contract by name", () => {
    const undecodable: string[] = [];
    let checked = 0;
    for (const { name, abi } of artifacts) {
      new Interface(abi).forEachError((fragment: ErrorFragment) => {
        const data = new Interface([fragment]).encodeErrorResult(fragment, fragment.inputs.map(sample)) as Hex;
        const revert = decodeRevert(data);
        checked++;
        if (revert.name !== fragment.name) undecodable.push(`${name}.${fragment.format()} -> ${revert.reason}`);
      });
    }
    expect(checked).to.be.greaterThan(100);
    expect(undecodable, "add the contract's factory to ERROR_SOURCES in bridge/src/chain/contracts.ts").to.deep.equal([]);
  });

  it("names a banned worker's revert (the router's WorkerBanned) with its arguments", () => {
    const router = new Interface(artifacts.find((a) => a.name === "AgentRouter")!.abi);
    const worker = getAddress("0x00000000000000000000000000000000000000aa");
    const revert = decodeRevert(router.encodeErrorResult("WorkerBanned", [7n, worker]) as Hex);
    expect(revert.reason).to.equal(`WorkerBanned(7, ${worker})`);
  });

  it("decodes Error(string), Panic and reverts without data; keeps an unknown selector", () => {
    const builtin = new Interface(["error Error(string)", "error Panic(uint256)"]);
    expect(decodeRevert(builtin.encodeErrorResult("Error", ["no"]) as Hex).reason).to.equal("no");
    expect(decodeRevert(builtin.encodeErrorResult("Panic", [0x11n]) as Hex).name).to.equal("Panic");
    expect(decodeRevert("0x").reason).to.equal("reverted without reason");
    expect(decodeRevert("0xdeadbeef").reason).to.equal("custom error 0xdeadbeef");
  });

  it("recognises a revert by its JSON-RPC error code, not by the message text", () => {
    const failure = (rpcCode: number, data: unknown, message: string) => new RpcError("eth_call", { transport: false, rpcCode, data }, { details: message });
    expect(revertData(failure(3, "0x12345678", "execution reverted"))).to.equal("0x12345678");
    expect(revertData(failure(3, "0x", "Transaction reverted without a reason string"))).to.equal("0x");
    expect(revertData(failure(-32015, "Reverted 0xabcdef01", "VM execution error."))).to.equal("0xabcdef01");
    // Same words, other code: an RPC failure to retry, not a revert to give up on.
    expect(revertData(failure(-32000, undefined, "execution reverted"))).to.equal(undefined);
    expect(revertData(new RpcError("eth_call", { transport: true }, { details: "HTTP 502: execution reverted" }))).to.equal(undefined);
  });
});
