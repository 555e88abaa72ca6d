/**
 * Project plugin: drops solc's transient-storage warning (2394) for OpenZeppelin's TransientSlot.sol
 * only. The warning says transient storage persists across calls within one transaction; the only
 * user here is OpenZeppelin's ReentrancyGuardTransient (AgentRouter, StakingHub, StakingVault),
 * which clears its slot before every guarded call returns: the use the warning itself calls safe.
 * A transient-storage warning from any other file is still printed.
 */
import type { HardhatPlugin } from "hardhat/types/plugins";

const plugin: HardhatPlugin = {
  id: "phala-agent-transient-slot-warning",
  hookHandlers: {
    solidity: () => import("./transient-slot-warning-hooks.js"),
  },
};

export default plugin;
