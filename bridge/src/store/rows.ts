import type { Hex } from "../../../protocol/hex.js";
import type { AgentRequest } from "../../../protocol/request.js";
import { agentRequestToJson, toAgentRequest } from "../../../protocol/request.js";
import type { ExecuteResponse } from "../../../protocol/worker-api.js";
import type { RequestRecord, RequestState, TxAttempt, TxRecord, TxState } from "./store.js";

/** Rows as both SQL stores return them (same columns; 0/1 integers for flags, int8 parsed as numbers). */
export interface RequestRow {
  id: string;
  request: string;
  input: string;
  request_hash: string;
  block_number: number;
  block_hash: string;
  log_index: number;
  tx_hash: string;
  state: string;
  previous_state: string | null;
  attempts: number;
  next_attempt_at: number;
  last_error: string | null;
  worker: string;
  worker_rank: number;
  backup_at: number;
  answer: string | null;
  answer_rank: number | null;
  answered_by: string | null;
  fulfil_tx: number | null;
  timeout_tx: number | null;
  settle_tx: string | null;
  settle_block: number | null;
  fee: string | null;
  refund: string | null;
  seen_at: number;
  confirmed_at: number | null;
  settled_at: number | null;
}

export interface TxRow {
  id: number;
  kind: string;
  nonce: number;
  to_address: string;
  data: string;
  gas_limit: string;
  request_ids: string;
  state: string;
  created_at: number;
  error: string | null;
  mined_hash: string | null;
  block_number: number | null;
  gas_used: string | null;
  effective_gas_price: string | null;
  success: number | null;
  resolved: number;
}

export interface AttemptRow {
  hash: string;
  tx_id: number;
  max_fee: string;
  priority_fee: string;
  state: string;
  created_at: number;
  broadcast_at: number | null;
}

export const opt = <T>(value: T | null): T | undefined => (value === null ? undefined : value);

export function toRecord(row: RequestRow): RequestRecord {
  return {
    id: BigInt(row.id),
    request: toAgentRequest(JSON.parse(row.request) as Record<string, unknown>),
    input: row.input as Hex,
    requestHash: row.request_hash,
    block: { number: row.block_number, hash: row.block_hash },
    logIndex: row.log_index,
    txHash: row.tx_hash,
    state: row.state as RequestState,
    previousState: opt(row.previous_state) as RequestState | undefined,
    attempts: row.attempts,
    nextAttemptAt: row.next_attempt_at,
    lastError: opt(row.last_error),
    assignee: row.worker,
    rank: row.worker_rank,
    backupAt: row.backup_at,
    answer: row.answer ? (JSON.parse(row.answer) as ExecuteResponse) : undefined,
    answerRank: opt(row.answer_rank),
    answeredBy: opt(row.answered_by),
    fulfilTx: opt(row.fulfil_tx),
    timeoutTx: opt(row.timeout_tx),
    settleTx: opt(row.settle_tx),
    settleBlock: opt(row.settle_block),
    fee: row.fee === null ? undefined : BigInt(row.fee),
    refund: row.refund === null ? undefined : BigInt(row.refund),
    seenAt: row.seen_at,
    confirmedAt: opt(row.confirmed_at),
    settledAt: opt(row.settled_at),
  };
}

export function toAttempt(row: AttemptRow): TxAttempt {
  return {
    hash: row.hash as Hex,
    txId: row.tx_id,
    maxFeePerGas: BigInt(row.max_fee),
    maxPriorityFeePerGas: BigInt(row.priority_fee),
    state: row.state as TxAttempt["state"],
    createdAt: row.created_at,
    broadcastAt: opt(row.broadcast_at),
  };
}

export function toTx(row: TxRow, attempts: TxAttempt[]): TxRecord {
  return {
    id: row.id,
    kind: row.kind as TxRecord["kind"],
    nonce: row.nonce,
    to: row.to_address,
    data: row.data as Hex,
    gasLimit: BigInt(row.gas_limit),
    requestIds: (JSON.parse(row.request_ids) as string[]).map(BigInt),
    state: row.state as TxState,
    createdAt: row.created_at,
    error: opt(row.error),
    minedHash: opt(row.mined_hash) as Hex | undefined,
    blockNumber: opt(row.block_number),
    gasUsed: row.gas_used === null ? undefined : BigInt(row.gas_used),
    effectiveGasPrice: row.effective_gas_price === null ? undefined : BigInt(row.effective_gas_price),
    success: row.success === null ? undefined : row.success === 1,
    resolved: row.resolved === 1,
    attempts,
  };
}

export function serializeRequest(request: AgentRequest): string {
  return JSON.stringify(agentRequestToJson(request));
}
