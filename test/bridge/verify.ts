import { expect } from "chai";
import { Wallet, hexlify, randomBytes, toBeHex, toUtf8Bytes, zeroPadValue } from "ethers";
import { FakeWorker } from "../../bridge/dev/fake-worker.js";
import { InvalidWorkerAnswerError } from "../../bridge/src/errors.js";
import type { RequestRecord } from "../../bridge/src/store/store.js";
import { AnswerVerifier } from "../../bridge/src/verify.js";
import { agentRequestToJson, requestHash, type AgentRequest } from "../../protocol/request.js";
import type { ExecuteResponse } from "../../protocol/worker-api.js";

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n;
const CHAIN_ID = 31337n;
const ROUTER = Wallet.createRandom().address;

describe("bridge AnswerVerifier", () => {
  const key = Wallet.createRandom().privateKey;
  const worker = new FakeWorker({ key });
  const verifier = new AnswerVerifier(CHAIN_ID, ROUTER);
  let record: RequestRecord;
  let answer: ExecuteResponse;

  beforeEach(async () => {
    const request: AgentRequest = {
      id: 7n,
      agentId: 1n,
      consumer: Wallet.createRandom().address,
      accountId: 1n,
      worker: worker.address,
      agentVersion: 1n,
      keyEpoch: 0n,
      callbackGasLimit: 100_000n,
      agentOwner: Wallet.createRandom().address,
      agentPrice: 10n ** 18n,
      maxFee: 10n ** 19n,
      deadline: 2_000_000_000n,
      codeHash: hexlify(randomBytes(32)),
      inputHash: hexlify(randomBytes(32)),
      configVersion: 1n,
      capacityFee: 10n ** 15n,
    };
    const input = hexlify(toUtf8Bytes("hello"));
    record = {
      id: request.id,
      request,
      input,
      requestHash: requestHash(request),
      block: { number: 1, hash: hexlify(randomBytes(32)) },
      logIndex: 0,
      txHash: hexlify(randomBytes(32)),
      state: "dispatched",
      attempts: 1,
      nextAttemptAt: 0,
      assignee: request.worker.toLowerCase(),
      rank: 0,
      backupAt: 0,
      seenAt: 0,
    };
    answer = await worker.answer({ chainId: CHAIN_ID.toString(), router: ROUTER, request: agentRequestToJson(request), input });
  });

  const rejects = (changed: ExecuteResponse, reason: RegExp) =>
    expect(() => verifier.verify(record, changed, "http://w")).to.throw(InvalidWorkerAnswerError, reason);

  it("accepts the assigned worker's answer", () => {
    expect(() => verifier.verify(record, answer, "http://w")).to.not.throw();
  });

  it("rejects an answer for another request or request hash", () => {
    rejects({ ...answer, requestId: "8" }, /answers request 8/);
    rejects({ ...answer, requestHash: hexlify(randomBytes(32)) }, /request hash differs/);
  });

  it("rejects an output that does not match its hash", () => {
    rejects({ ...answer, output: hexlify(toUtf8Bytes("forged")) }, /outputHash is not keccak256\(output\)/);
  });

  it("rejects a changed status or sub-agent list (the signature no longer recovers to the worker)", () => {
    rejects({ ...answer, status: answer.status + 1 }, /signed by 0x[0-9a-f]{40}, but the request is assigned to/);
    rejects({ ...answer, subAgentIds: ["3"], subAgentPrices: ["0"] }, /signed by 0x[0-9a-f]{40}, but the request is assigned to/);
  });

  it("rejects sub-agent prices that do not pair with the sub-agent ids, as the router does", () => {
    rejects({ ...answer, subAgentIds: ["3"] }, /subAgentPrices does not match subAgentIds/);
  });

  it("rejects signatures the router would refuse: wrong length, high s, bad v", () => {
    rejects({ ...answer, signature: answer.signature.slice(0, 130) }, /malformed signature \(InvalidSignatureLength\)/);
    const r = answer.signature.slice(2, 66);
    const s = BigInt(`0x${answer.signature.slice(66, 130)}`);
    const v = parseInt(answer.signature.slice(130), 16);
    const twin = `0x${r}${zeroPadValue(toBeHex(N - s), 32).slice(2)}${(v === 27 ? 28 : 27).toString(16)}`;
    rejects({ ...answer, signature: twin }, /malformed signature \(InvalidSignatureS\)/);
    rejects({ ...answer, signature: `${answer.signature.slice(0, 130)}01` }, /malformed signature \(InvalidSignature\)/);
  });

  it("rejects an answer signed by another key", async () => {
    const impostor = new FakeWorker({ key, signWith: Wallet.createRandom().privateKey });
    const forged = await impostor.answer({ chainId: CHAIN_ID.toString(), router: ROUTER, request: agentRequestToJson(record.request), input: record.input });
    rejects(forged, /signed by 0x[0-9a-f]{40}, but the request is assigned to/);
  });

  it("after a handover, accepts only the backup's own signature (worker = the backup), not the primary's", async () => {
    const backup = new FakeWorker({ key: Wallet.createRandom().privateKey });
    const handedOver: RequestRecord = { ...record, assignee: backup.address.toLowerCase(), rank: 1 };
    const body = { chainId: CHAIN_ID.toString(), router: ROUTER, request: agentRequestToJson(record.request), input: record.input, backupRank: "1" };
    const backupAnswer = await backup.answer(body);
    expect(() => verifier.verify(handedOver, backupAnswer, "http://b")).to.not.throw();
    // The primary's answer is valid for fulfil, but not as the backup's: fulfillAsBackup would revert.
    expect(() => verifier.verify(handedOver, answer, "http://b")).to.throw(InvalidWorkerAnswerError, /but the request is handed over to backup 1, 0x/);
    // And the backup's answer is not the primary's.
    rejects(backupAnswer, /signed by 0x[0-9a-f]{40}, but the request is assigned to/);
  });

  it("rejects an answer signed for another router (EIP-712 domain)", async () => {
    const elsewhere = await worker.answer({
      chainId: CHAIN_ID.toString(),
      router: Wallet.createRandom().address,
      request: agentRequestToJson(record.request),
      input: record.input,
    });
    rejects(elsewhere, /signed by 0x[0-9a-f]{40}, but the request is assigned to/);
  });
});
