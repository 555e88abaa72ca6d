import { formatOutput, type RequestState } from "../requests.js";
import { formatPha, report } from "./context.js";

/** How a settled request ended: the answer (decoded with `decode`, e.g. "int256,string") or the refund. */
export function printSettlement(state: RequestState, decode: string | undefined): void {
  if (state.phase === "timed out") {
    console.log(`Request ${state.requestId} timed out unanswered: ${formatPha(state.refund ?? 0n)} refunded to billing account ${state.request.accountId}`);
    return;
  }
  const output =
    state.output === undefined
      ? `(not in the settling transaction's calldata; hash ${state.outputHash})`
      : formatOutput(state.output, state.status === 0 ? decode : undefined);
  report(`Request ${state.requestId} answered`, [
    ["status", `${state.statusName} (${state.status})`],
    ["output", output],
    [
      "callback",
      !state.consumerIsContract
        ? "none (the consumer is an account, not a contract)"
        : state.callbackSucceeded
          ? "succeeded"
          : "FAILED (the consumer reverted or ran out of callback gas)",
    ],
    ["fee", `${formatPha(state.totalFee ?? 0n)} charged, ${formatPha(state.refund ?? 0n)} refunded`],
    ["tx", state.settledIn?.tx ?? "?"],
  ]);
}
