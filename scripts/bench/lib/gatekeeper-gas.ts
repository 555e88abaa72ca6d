/**
 * Gas of the on-chain gatekeeper paths for M-of-N quorums: GatekeeperQuorumVerifier.verifyAttestation
 * (what a worker registration pays for the quorum evidence), KeyRegistry.proposeRotation and
 * isEpochUsable (what a confidential request pays). Whole transactions (views sent as transactions so
 * the receipt says exactly what they cost), 21,000 intrinsic gas included. Keys and values are fixed,
 * so calldata is the same on every run.
 */
import { network } from "hardhat";
import { Wallet, getBytes, hexlify, keccak256, toUtf8Bytes, type Contract } from "ethers";
import { secp256k1 } from "@noble/curves/secp256k1";
import {
  encodeQuorumEvidence,
  keyRegistryDomain,
  signKeyRotation,
  signWorkerAttestation,
  sortBySigner,
  verifierDomain,
} from "../../../gatekeeper/typed-data.js";
import type { GasFigure } from "./snapshot.js";

const QUORUMS = [
  [2, 3],
  [3, 5],
  [5, 7],
] as const;
const TABLE = "gatekeeper quorum (M of N)";
const FIXED_TIME = 2_000_000_000;

export async function measureGatekeeperGas(): Promise<GasFigure[]> {
  const connection = await network.create();
  const { ethers, networkHelpers } = connection;
  const [owner] = await ethers.getSigners();
  const fixed = (label: string) => keccak256(toUtf8Bytes(`bench gatekeeper: ${label}`));
  const keys = Array.from({ length: 7 }, (_, i) => new Wallet(fixed(`key ${i}`)));
  // A fixed clock: expiries are signed and sent as calldata, whose cost depends on their bytes.
  const now = FIXED_TIME;
  await networkHelpers.time.increaseTo(now);
  const { chainId } = await ethers.provider.getNetwork();
  const gasOf = async (tx: Promise<{ wait(): Promise<{ gasUsed: bigint } | null> }>) => (await (await tx).wait())!.gasUsed;

  const figures: GasFigure[] = [];
  for (const [m, n] of QUORUMS) {
    const set = keys.slice(0, n);
    const verifier = (await ethers.deployContract("GatekeeperQuorumVerifier", [
      owner!.address,
      set.map((k) => k.address),
      m,
      86400 * 30,
    ])) as unknown as Contract;
    const registry = (await ethers.deployContract("KeyRegistry", [owner!.address, verifier.target, 0, 3600])) as unknown as Contract;
    const value = { reportData: fixed("report data"), measurement: fixed("measurement"), tcbStatus: 0, expiresAt: BigInt(now + 86_400) };
    const vDomain = verifierDomain(chainId, String(verifier.target));
    const sigs = await Promise.all(set.slice(0, m).map(async (k) => ({ signer: k.address, signature: await signWorkerAttestation(k, vDomain, value) })));
    const evidence = encodeQuorumEvidence(value, sigs);
    const publicKey = hexlify(secp256k1.getPublicKey(getBytes(fixed("cluster key")), true));
    const kDomain = keyRegistryDomain(chainId, String(registry.target));
    const deadline = BigInt(now + 3600);
    const rsigs = await Promise.all(
      set.slice(0, m).map(async (k) => ({ signer: k.address, signature: await signKeyRotation(k, kDomain, { epoch: 1, publicKey, deadline }) })),
    );
    // Submitted by a gatekeeper, as the coordinator does (governance may too, through a cheaper check).
    const proposer = set[n - 1]!.connect(ethers.provider);
    await (await owner!.sendTransaction({ to: proposer.address, value: 10n ** 17n })).wait();

    const row = `${m} of ${n}`;
    figures.push({ table: TABLE, row, column: "verifyAttestation", gas: await gasOf(verifier.verifyAttestation!.send(value.reportData, evidence)) });
    figures.push({
      table: TABLE,
      row,
      column: "proposeRotation",
      gas: await gasOf((registry.connect(proposer) as Contract).proposeRotation!(1, publicKey, deadline, sortBySigner(rsigs))),
    });
    figures.push({ table: TABLE, row, column: "isEpochUsable", gas: await gasOf(registry.isEpochUsable!.send(1)) });
  }
  await connection.close();
  return figures;
}
