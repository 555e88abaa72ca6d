import type { Interface, LogDescription, TransactionReceipt } from "ethers";
import { DevkitError } from "./errors.js";

/** The first `name` event `contract` emitted in `receipt` (logs of other contracts are skipped). */
export function eventIn(receipt: TransactionReceipt, contract: { interface: Interface; target: unknown }, name: string): LogDescription {
  const address = String(contract.target).toLowerCase();
  for (const log of receipt.logs) {
    if (log.address.toLowerCase() !== address) continue;
    const parsed = contract.interface.parseLog(log);
    if (parsed?.name === name) return parsed;
  }
  throw new DevkitError(`transaction ${receipt.hash} emitted no ${name}`);
}
