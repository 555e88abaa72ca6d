import { HDNodeWallet, Mnemonic } from "ethers";

/** The well-known development mnemonic of anvil and Hardhat's node (funded accounts; never use elsewhere). */
const DEV_MNEMONIC = "test test test test test test test test test test test junk";

export function devKey(index: number): string {
  return HDNodeWallet.fromMnemonic(Mnemonic.fromPhrase(DEV_MNEMONIC), `m/44'/60'/0'/0/${index}`).privateKey;
}

/** Roles on a local chain: who deploys, who relays (bridge), who owns the agent, who operates workers. */
export const DEV_ROLES = { deployer: 0, bridge: 1, agentOwner: 2, operator: 3, treasury: 4, bridgeB: 5 } as const;
