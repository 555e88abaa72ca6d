// Gas of the on-chain gatekeeper paths: `npm run bench:gatekeeper`.
import { network } from "hardhat";
import { hexlify, Wallet, type Contract } from "ethers";
import { secp256k1 } from "@noble/curves/secp256k1";
import { encodeQuorumEvidence, keyRegistryDomain, signKeyRotation, signWorkerAttestation, sortBySigner, verifierDomain } from "../../gatekeeper/typed-data.js";

const { ethers, networkHelpers } = await network.create();
const [owner] = await ethers.getSigners();
const keys = Array.from({ length: 7 }, () => Wallet.createRandom());
const now = await networkHelpers.time.latest();
const { chainId } = await ethers.provider.getNetwork();

for (const [m, n] of [[2, 3], [3, 5], [5, 7]] as const) {
  const set = keys.slice(0, n);
  const verifier = (await ethers.deployContract("GatekeeperQuorumVerifier", [owner!.address, set.map((k) => k.address), m, 86400 * 30])) as unknown as Contract;
  const registry = (await ethers.deployContract("KeyRegistry", [owner!.address, verifier.target, 0, 3600])) as unknown as Contract;
  const value = { reportData: hexlify(secp256k1.utils.randomPrivateKey()), measurement: hexlify(secp256k1.utils.randomPrivateKey()), tcbStatus: 0, expiresAt: BigInt(now + 3600) };
  const vDomain = verifierDomain(chainId, String(verifier.target));
  const sigs = await Promise.all(set.slice(0, m).map(async (k) => ({ signer: k.address, signature: await signWorkerAttestation(k, vDomain, value) })));
  const evidence = encodeQuorumEvidence(value, sigs);
  const verifyGas = await verifier.verifyAttestation!.estimateGas(value.reportData, evidence);
  const publicKey = hexlify(secp256k1.getPublicKey(secp256k1.utils.randomPrivateKey(), true));
  const kDomain = keyRegistryDomain(chainId, String(registry.target));
  const deadline = BigInt(now + 3600);
  const rsigs = await Promise.all(set.slice(0, m).map(async (k) => ({ signer: k.address, signature: await signKeyRotation(k, kDomain, { epoch: 1, publicKey, deadline }) })));
  // Submitted by governance (the owner); gatekeepers submit their own in production.
  const receipt = await (await registry.proposeRotation!(1, publicKey, deadline, sortBySigner(rsigs))).wait();
  const usableGas = await registry.isEpochUsable!.estimateGas(1);
  console.log(`M=${m} N=${n}: verifyAttestation ${verifyGas} gas (incl. 21000 base), proposeRotation ${receipt.gasUsed} gas, isEpochUsable ${usableGas} gas (incl. 21000 base)`);
}
