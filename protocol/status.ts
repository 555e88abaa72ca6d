/** Result codes signed with a fulfilment; mirrors contracts/core/AgentStatus.sol. */
export const AgentStatus = {
  OK: 0,
  AGENT_ERROR: 1,
  TIME_LIMIT: 2,
  MEMORY_LIMIT: 3,
  OUTPUT_LIMIT: 4,
  HOST_CALL_LIMIT: 5,
  HOST_CALL_DENIED: 6,
  BUNDLE_UNAVAILABLE: 7,
  CODE_HASH_MISMATCH: 8,
  INVALID_BUNDLE: 9,
  DECRYPTION_FAILED: 10,
  SUB_AGENT_FAILED: 11,
  BUDGET_EXCEEDED: 12,
  INTERNAL_ERROR: 13,
} as const;

export type AgentStatusName = keyof typeof AgentStatus;
export type AgentStatusCode = (typeof AgentStatus)[AgentStatusName];

export function statusName(code: number): AgentStatusName | "UNKNOWN" {
  const entry = Object.entries(AgentStatus).find(([, value]) => value === code);
  return (entry?.[0] as AgentStatusName | undefined) ?? "UNKNOWN";
}
