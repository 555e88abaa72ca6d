import { concat, getBytes, hexlify, keccak256 } from "ethers";

/** Measurement registers read from a verified quote (0x-hex). */
export type QuoteRegisters =
  { tee: "tdx"; mrTd: string; rtmr0: string; rtmr1: string; rtmr2: string; rtmr3: string } | { tee: "sgx"; mrEnclave: string; mrSigner: string };

/**
 * The single bytes32 runtime measurement that WorkerRegistry and AgentRegistry approve:
 *   TDX: keccak256(mr_td || rtmr0 || rtmr1 || rtmr2 || rtmr3)   (5 x 48 bytes)
 *   SGX: keccak256(mr_enclave || mr_signer)                      (2 x 32 bytes)
 * For dstack, mr_td measures the virtual firmware, rtmr0-2 the kernel, command line and initrd, and
 * rtmr3 the app (compose hash, instance); hashing all of them approves one exact image.
 */
export function measurementOf(registers: QuoteRegisters): string {
  const parts =
    registers.tee === "tdx" ? [registers.mrTd, registers.rtmr0, registers.rtmr1, registers.rtmr2, registers.rtmr3] : [registers.mrEnclave, registers.mrSigner];
  return keccak256(concat(parts.map((p) => getBytes(p))));
}

export const toHex = (bytes: Uint8Array): string => hexlify(bytes);
