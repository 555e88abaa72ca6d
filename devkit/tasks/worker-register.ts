import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { DevkitError } from "../errors.js";
import { fetchAttestation, registerWorker, type VerifierChoice } from "../workers.js";
import { networkFlag, report, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  endpoint?: string;
  verifier: string;
}

/** Reads a running worker's attestation from its endpoint and registers its enclave key, operated by the signer. */
export default async function workerRegister(args: Args, hre: HardhatRuntimeEnvironment): Promise<string> {
  if (args.endpoint === undefined) throw new DevkitError("--endpoint is required: the worker's base URL, e.g. http://127.0.0.1:8090");
  if (!["auto", "simulated", "quorum"].includes(args.verifier)) throw new DevkitError(`--verifier must be auto, simulated or quorum, not "${args.verifier}"`);
  const attestation = await fetchAttestation(args.endpoint);
  const { net, connection, signerAddress } = await taskNetwork(hre, args);
  const { verifier, txHash } = await registerWorker(net, attestation, args.endpoint, args.verifier as VerifierChoice);
  const worker = await net.workerRegistry.workerOf(attestation.worker);
  report(`Registered worker ${attestation.worker}${attestation.simulated ? " (SIMULATED enclave: development chains only)" : ""}`, [
    ["operator", signerAddress],
    ["endpoint", args.endpoint],
    ["verifier", verifier],
    ["measurement", worker.measurement],
    ["expires", new Date(Number(worker.expiresAt) * 1000).toISOString()],
    ["tx", txHash],
  ]);
  console.log(`Next: npx hardhat staking:add-worker --pool <your pool> --worker ${attestation.worker}${networkFlag(connection)}`);
  return attestation.worker;
}
