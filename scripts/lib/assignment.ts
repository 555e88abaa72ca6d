import { AbiCoder, keccak256, toUtf8Bytes } from "ethers";

/** How many draws the router makes at most before NoEligibleWorker (AgentRouter.MAX_ASSIGNMENT_ATTEMPTS). */
export const MAX_DRAWS = 8;

interface Sampler {
  sampleWorker(seed: bigint): Promise<string>;
}

/**
 * Replays AgentRouter's worker assignment off-chain: the draw (1-based) at which the next request
 * by `caller`, with id `requestId`, would land on a worker `isEligible` accepts if its block had
 * `prevrandao`; 0 when all draws miss. Seeds as the router: keccak256(abi.encode(prevrandao,
 * requestId, caller)), then keccak256(abi.encode(seed)) per further draw.
 */
export async function firstEligibleDraw(
  staking: Sampler,
  prevrandao: string,
  requestId: bigint,
  caller: string,
  isEligible: (worker: string) => boolean,
): Promise<number> {
  const coder = AbiCoder.defaultAbiCoder();
  let seed = BigInt(keccak256(coder.encode(["uint256", "uint256", "address"], [prevrandao, requestId, caller])));
  for (let draw = 1; draw <= MAX_DRAWS; draw++) {
    if (isEligible(await staking.sampleWorker(seed))) return draw;
    seed = BigInt(keccak256(coder.encode(["uint256"], [seed])));
  }
  return 0;
}

/** A prevrandao (from a fixed sequence, so runs repeat) under which the assignment succeeds exactly at draw `wanted`. */
export async function prevrandaoForDraw(
  wanted: number,
  staking: Sampler,
  requestId: bigint,
  caller: string,
  isEligible: (worker: string) => boolean,
): Promise<string> {
  for (let trial = 0; trial < 2_000; trial++) {
    const prevrandao = keccak256(toUtf8Bytes(`assignment prevrandao ${trial}`));
    if ((await firstEligibleDraw(staking, prevrandao, requestId, caller, isEligible)) === wanted) return prevrandao;
  }
  throw new Error(`no prevrandao found with the first eligible worker at draw ${wanted}`);
}
