import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import type { Result } from "hardhat/types/utils";
import { errorResult, successfulResult } from "hardhat/utils/result";
import { DevkitError } from "../errors.js";
import { formatDeadline, inputBytes, requestState, sendRequest, waitForSettlement, type RequestState } from "../requests.js";
import { formatPha, networkFlag, parseId, parsePha, report, taskNetwork, type ChainTaskArgs } from "./context.js";
import { printSettlement } from "./print-settlement.js";

interface Args extends ChainTaskArgs {
  agent?: string;
  account?: string;
  input?: string;
  inputHex?: string;
  inputTypes?: string;
  inputValues?: string;
  callbackGas: number;
  maxFee?: string;
  decode?: string;
  noWait: boolean;
  timeout: number;
}

/**
 * Sends a request from the signer's address (it must be a consumer of the billing account) and,
 * unless --no-wait, waits until it is settled. A request answered with an error status or timed
 * out is a failed Result (exit code 1).
 */
export default async function agentRequest(args: Args, hre: HardhatRuntimeEnvironment): Promise<Result<RequestState, RequestState>> {
  const agentId = parseId(args.agent, "--agent");
  const input = inputBytes(args);
  const maxFee = args.maxFee === undefined ? undefined : parsePha(args.maxFee, "--max-fee");
  const { net, connection, deploymentFile } = await taskNetwork(hre, args);
  const defaultAccount = net.deployment.local?.accountId;
  if (args.account === undefined && defaultAccount === undefined) {
    throw new DevkitError(`--account is required (${deploymentFile} names no billing account of a local network)`);
  }
  const accountId = parseId(args.account ?? defaultAccount, "--account");
  const sent = await sendRequest(net, { accountId, agentId, input, callbackGasLimit: BigInt(args.callbackGas), maxFee });
  const chainTime = BigInt((await connection.ethers.provider.getBlock("latest"))!.timestamp);
  report(`Sent request ${sent.request.id} to agent ${agentId}`, [
    ["worker", sent.request.worker],
    ["max fee", `${formatPha(sent.request.maxFee)} reserved from billing account ${accountId}`],
    ["deadline", formatDeadline(sent.request.deadline, chainTime)],
    ["tx", sent.txHash],
  ]);
  const flag = networkFlag(connection);
  if (args.noWait) {
    console.log(`Follow it: npx hardhat request:status ${sent.request.id}${flag}`);
    return successfulResult(await requestState(net, sent.request.id, sent.blockNumber));
  }
  let announced = false;
  const state = await waitForSettlement(net, sent.request.id, {
    timeoutMs: args.timeout * 1000,
    fromBlock: sent.blockNumber,
    onWait: (waiting) => {
      if (announced) return;
      announced = true;
      console.log(`Waiting for the worker's answer (a bridge must relay it; deadline ${formatDeadline(waiting.request.deadline, waiting.chainTime)})...`);
    },
  });
  printSettlement(state, args.decode);
  return state.phase === "fulfilled" && state.status === 0 ? successfulResult(state) : errorResult(state);
}
