import type { HardhatRuntimeEnvironment } from "hardhat/types/hre";
import { formatDeadline, formatOutput, requestState, type RequestState } from "../requests.js";
import { printSettlement } from "./print-settlement.js";
import { formatPha, parseId, report, taskNetwork, type ChainTaskArgs } from "./context.js";

interface Args extends ChainTaskArgs {
  request: string;
  decode?: string;
  fromBlock: number;
}

export default async function requestStatus(args: Args, hre: HardhatRuntimeEnvironment): Promise<RequestState> {
  const requestId = parseId(args.request, "request id");
  const { net } = await taskNetwork(hre, args);
  const state = await requestState(net, requestId, args.fromBlock);
  const { request } = state;
  report(`Request ${requestId}: ${state.phase}`, [
    ["agent", `${request.agentId} (code version ${request.agentVersion})`],
    ["consumer", request.consumer],
    ["account", `${request.accountId}, max fee ${formatPha(request.maxFee)}`],
    ["worker", request.worker],
    ["input", formatOutput(state.input)],
    ["requested", `block ${state.requestedIn.block}, tx ${state.requestedIn.tx}`],
    ["deadline", formatDeadline(request.deadline, state.chainTime)],
  ]);
  if (state.phase === "pending") console.log("Waiting for the assigned worker's answer (relayed by a bridge).");
  if (state.phase === "expired") console.log("Past its deadline unanswered: anyone may call timeout (a bridge's sweep does) for a refund.");
  if (state.phase === "fulfilled" || state.phase === "timed out") printSettlement(state, args.decode);
  return state;
}
