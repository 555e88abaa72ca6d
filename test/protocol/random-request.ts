import { Wallet, hexlify, randomBytes } from "ethers";
import type { AgentRequest } from "../../protocol/request.js";

/** A random unsigned integer of `bits` bits (a multiple of 8). */
export const randomUint = (bits: number) => BigInt(hexlify(randomBytes(bits / 8)));

/** A request with every field random and of its full width, so encoders are checked on every byte. */
export function randomRequest(): AgentRequest {
  return {
    id: randomUint(256),
    agentId: randomUint(256),
    consumer: Wallet.createRandom().address,
    accountId: randomUint(64),
    worker: Wallet.createRandom().address,
    agentVersion: randomUint(32),
    keyEpoch: randomUint(32),
    callbackGasLimit: randomUint(32),
    agentOwner: Wallet.createRandom().address,
    agentPrice: randomUint(96),
    maxFee: randomUint(96),
    deadline: randomUint(64),
    codeHash: hexlify(randomBytes(32)),
    inputHash: hexlify(randomBytes(32)),
    configVersion: randomUint(16),
    capacityFee: randomUint(96),
  };
}
