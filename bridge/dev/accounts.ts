import { HDNodeWallet, Mnemonic } from "ethers";

/** The well-known development mnemonic of anvil and Hardhat's node (funded accounts; never use elsewhere). */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

export function devKey(index: number): string {
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${index}`).privateKey;
}

/**
 * Roles on a local chain: who deploys (and holds the PHA, self-delegated, so it can pass proposals),
 * who relays (bridge), who owns the agent, who operates workers, and the guardian that may pause
 * the router (the Ignition module's default `guardian`). Accounts 7-9 are the development gatekeepers.
 */
export const DEV_ROLES = { deployer: 0, bridge: 1, agentOwner: 2, operator: 3, treasury: 4, bridgeB: 5, guardian: 6 } as const;
