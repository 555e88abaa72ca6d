import { parentPort, workerData } from "node:worker_threads";
import { HostCallFailure } from "./host-api.js";
import { AgentStatus } from "../../../protocol/status.js";
import { Sandbox, type SandboxOutcome } from "./sandbox.js";
import type { FromThread, HostReply, ToThread } from "./thread-protocol.js";

/**
 * Sandbox thread: runs agents on its own QuickJS module and forwards host calls to the main
 * thread, which owns the network, the directory and the enclave. The main thread can terminate
 * this thread if a run ever stops answering (a builtin QuickJS cannot interrupt).
 */
const port = parentPort;
if (port === null) throw new Error("sandbox thread must run as a worker thread");

const { wasm, busy } = workerData as { wasm: object; busy: SharedArrayBuffer };
const sandbox = await Sandbox.load({ wasm, busy: new Int32Array(busy) });
const aborts = new Map<number, AbortController>();
const pendingCalls = new Map<number, { resolve: (value: unknown) => void; reject: (error: unknown) => void }>();
let nextCallId = 0;

const send = (message: FromThread) => port.postMessage(message);

function settle(callId: number, reply: HostReply): void {
  const pending = pendingCalls.get(callId);
  if (pending === undefined) return;
  pendingCalls.delete(callId);
  if (reply.ok) pending.resolve(reply.value);
  else if ("failure" in reply) pending.reject(new HostCallFailure(reply.failure.status, reply.failure.message));
  else pending.reject(new Error(reply.error));
}

port.on("message", (message: ToThread) => {
  switch (message.type) {
    case "run": {
      const { runId, spec } = message;
      const abort = new AbortController();
      aborts.set(runId, abort);
      void sandbox
        .runSpec(spec, {
          signal: abort.signal,
          log: (line) => send({ type: "log", runId, line }),
          hostCall: (op, args, signal) =>
            new Promise((resolve, reject) => {
              const callId = nextCallId++;
              pendingCalls.set(callId, { resolve, reject });
              signal.addEventListener("abort", () => settle(callId, { ok: false, error: "run ended" }), { once: true });
              send({ type: "host-call", runId, callId, op, args });
            }),
        })
        .catch((): SandboxOutcome => ({ status: AgentStatus.INTERNAL_ERROR, output: new Uint8Array(), message: "sandbox failure", hostCalls: 0 }))
        .then((outcome) => {
          aborts.delete(runId);
          send({ type: "done", runId, outcome });
        });
      break;
    }
    case "abort":
      aborts.get(message.runId)?.abort();
      break;
    case "host-reply":
      settle(message.callId, message.reply);
      break;
  }
});

send({ type: "ready" });
