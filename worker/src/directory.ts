import { readFileSync } from "node:fs";
import { Contract, JsonRpcProvider, ZeroAddress, getBytes, type ContractRunner } from "ethers";
import { z } from "zod";

export interface AgentCode {
  codeHash: string;
  uri: string;
}

export interface CurrentCode extends AgentCode {
  version: bigint;
}

export interface OwnerAndPrice {
  /** Zero address for an unknown agent. */
  owner: string;
  price: bigint;
}

export interface EncryptedSecrets {
  keyEpoch: number;
  /** Empty when the agent has no secrets. */
  ciphertext: Uint8Array;
}

/** The worker's view of IAgentRegistry (the views it needs to run agents). */
export interface AgentDirectory {
  /** Address of the AgentRegistry read: agents' secrets are bound to it. Undefined: secrets are refused. */
  readonly agentRegistry: string | undefined;
  codeOf(agentId: bigint, version: bigint): Promise<AgentCode>;
  currentCode(agentId: bigint): Promise<CurrentCode>;
  ownerAndPrice(agentId: bigint): Promise<OwnerAndPrice>;
  secretsOf(agentId: bigint): Promise<EncryptedSecrets>;
}

/** The registry views of contracts/interfaces/IAgentRegistry.sol. */
export const AGENT_REGISTRY_VIEWS_ABI = [
  "function ownerAndPrice(uint256 agentId) view returns (address owner, uint96 price)",
  "function codeOf(uint256 agentId, uint32 version) view returns (bytes32 codeHash, string uri)",
  "function currentCode(uint256 agentId) view returns (uint32 version, bytes32 codeHash, string uri)",
  "function secretsOf(uint256 agentId) view returns (uint32 keyEpoch, bytes ciphertext)",
] as const;

/** Reads the on-chain AgentRegistry through a JSON-RPC endpoint (or any ethers provider). */
export class ChainAgentDirectory implements AgentDirectory {
  readonly #registry: Contract;

  constructor(
    rpc: string | ContractRunner,
    readonly agentRegistry: string,
  ) {
    const runner = typeof rpc === "string" ? new JsonRpcProvider(rpc, undefined, { staticNetwork: true }) : rpc;
    this.#registry = new Contract(agentRegistry, AGENT_REGISTRY_VIEWS_ABI, runner);
  }

  async codeOf(agentId: bigint, version: bigint): Promise<AgentCode> {
    const [codeHash, uri] = (await this.#registry.getFunction("codeOf").staticCall(agentId, version)) as [string, string];
    return { codeHash, uri };
  }

  async currentCode(agentId: bigint): Promise<CurrentCode> {
    const [version, codeHash, uri] = (await this.#registry.getFunction("currentCode").staticCall(agentId)) as [bigint, string, string];
    return { version, codeHash, uri };
  }

  async ownerAndPrice(agentId: bigint): Promise<OwnerAndPrice> {
    const [owner, price] = (await this.#registry.getFunction("ownerAndPrice").staticCall(agentId)) as [string, bigint];
    return { owner, price };
  }

  async secretsOf(agentId: bigint): Promise<EncryptedSecrets> {
    const [keyEpoch, ciphertext] = (await this.#registry.getFunction("secretsOf").staticCall(agentId)) as [bigint, string];
    return { keyEpoch: Number(keyEpoch), ciphertext: getBytes(ciphertext) };
  }
}

export interface AgentEntry {
  owner: string;
  price: bigint;
  /** Code by version number (1-based, as the registry numbers them). */
  versions: AgentCode[];
  secrets?: EncryptedSecrets;
}

/** Unknown agents and versions fail like the registry's views revert. */
export class UnknownAgentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnknownAgentError";
  }
}

/** Agents held in memory: tests, benchmarks and the file-backed development directory. */
export class InMemoryAgentDirectory implements AgentDirectory {
  readonly #agents = new Map<bigint, AgentEntry>();

  /** @param agentRegistry the registry the entries' secrets were sealed for. */
  constructor(readonly agentRegistry: string | undefined = undefined) {}

  set(agentId: bigint, entry: AgentEntry): this {
    this.#agents.set(agentId, entry);
    return this;
  }

  #get(agentId: bigint): AgentEntry {
    const entry = this.#agents.get(agentId);
    if (entry === undefined) throw new UnknownAgentError(`unknown agent ${agentId}`);
    return entry;
  }

  async codeOf(agentId: bigint, version: bigint): Promise<AgentCode> {
    const code = this.#get(agentId).versions[Number(version) - 1];
    if (code === undefined) throw new UnknownAgentError(`agent ${agentId} has no version ${version}`);
    return code;
  }

  async currentCode(agentId: bigint): Promise<CurrentCode> {
    const versions = this.#get(agentId).versions;
    const code = versions[versions.length - 1];
    if (code === undefined) throw new UnknownAgentError(`agent ${agentId} has no code`);
    return { ...code, version: BigInt(versions.length) };
  }

  async ownerAndPrice(agentId: bigint): Promise<OwnerAndPrice> {
    const entry = this.#agents.get(agentId);
    return entry === undefined ? { owner: ZeroAddress, price: 0n } : { owner: entry.owner, price: entry.price };
  }

  async secretsOf(agentId: bigint): Promise<EncryptedSecrets> {
    return this.#get(agentId).secrets ?? { keyEpoch: 0, ciphertext: new Uint8Array() };
  }
}

const AgentFileSchema = z.record(
  z.string().regex(/^\d+$/),
  z.object({
    owner: z.string().regex(/^0x[0-9a-fA-F]{40}$/),
    price: z.union([z.string().regex(/^\d+$/), z.number().int().nonnegative()]),
    versions: z.array(z.object({ codeHash: z.string().regex(/^0x[0-9a-fA-F]{64}$/), uri: z.string().min(1) })).min(1),
    secrets: z.object({ keyEpoch: z.number().int().nonnegative(), ciphertext: z.string().regex(/^0x([0-9a-fA-F]{2})*$/) }).optional(),
  }),
);

/**
 * Loads `{ "<agentId>": { owner, price, versions: [{codeHash, uri}], secrets? } }` from a JSON file;
 * `agentRegistry` is the registry its secrets were sealed for.
 */
export function loadAgentFile(path: string, agentRegistry?: string): InMemoryAgentDirectory {
  const parsed = AgentFileSchema.parse(JSON.parse(readFileSync(path, "utf8")));
  const directory = new InMemoryAgentDirectory(agentRegistry);
  for (const [id, agent] of Object.entries(parsed)) {
    directory.set(BigInt(id), {
      owner: agent.owner,
      price: BigInt(agent.price),
      versions: agent.versions,
      secrets: agent.secrets && { keyEpoch: agent.secrets.keyEpoch, ciphertext: getBytes(agent.secrets.ciphertext) },
    });
  }
  return directory;
}
