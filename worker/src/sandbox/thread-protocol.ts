import type { AgentStatusCode } from "../../../protocol/status.js";
import type { RunSpec, SandboxOutcome } from "./sandbox.js";

/** Messages between SandboxPool (main thread) and a sandbox thread. */
export type ToThread =
  { type: "run"; runId: number; spec: RunSpec } | { type: "abort"; runId: number } | { type: "host-reply"; runId: number; callId: number; reply: HostReply };

export type FromThread =
  | { type: "ready" }
  | { type: "host-call"; runId: number; callId: number; op: string; args: string }
  | { type: "log"; runId: number; line: string }
  | { type: "done"; runId: number; outcome: SandboxOutcome };

export type HostReply = { ok: true; value: unknown } | { ok: false; failure: { status: AgentStatusCode; message: string } } | { ok: false; error: string };
