import { RpcError } from "../errors.js";

/**
 * What a failed eth_sendRawTransaction means for the transaction (the classes of Chainlink's
 * transaction manager, core/chains/evm/client/errors.go):
 * - already_known: a node holds this exact transaction: as good as accepted;
 * - nonce_too_low: the nonce is used (by an attempt of ours that was mined, or by another
 *   transaction): this attempt can never be mined;
 * - nonce_too_high: a lower nonce is missing from the node's pool: send that one first;
 * - underpriced: fees below the node's floor, the base fee, or a replacement's required bump;
 * - insufficient_funds: the account cannot pay for the gas: retry once funded, alert meanwhile;
 * - transport: no answer, or the node is busy/rate-limiting/failing internally: the transaction
 *   may or may not have arrived; sending the same bytes again is always safe;
 * - fatal: no node will ever take this transaction as it is (intrinsic gas, size, gas cap,
 *   signature, chain id).
 */
export type SendErrorKind = "already_known" | "nonce_too_low" | "nonce_too_high" | "underpriced" | "insufficient_funds" | "transport" | "fatal";

/**
 * Nodes do not agree on codes for these rejections (anvil answers -32003 for all of them, geth and
 * Hardhat -32000), so, as every transaction manager does, they are told apart by message. Patterns
 * cover geth, Erigon, Besu, Nethermind, OpenEthereum, anvil and Hardhat; first match wins.
 */
const BY_MESSAGE: readonly (readonly [SendErrorKind, RegExp])[] = [
  ["already_known", /already known|known transaction|already imported|AlreadyKnown|OwnNonceAlreadyUsed|already in (?:the )?(?:mempool|pool)/i],
  ["nonce_too_low", /nonce too low|OldNonce|nonce has already been used|invalid transaction nonce|Transaction nonce is too low/i],
  ["nonce_too_high", /nonce too high|NonceGap|nonce gap/i],
  [
    "insufficient_funds",
    /insufficient funds|InsufficientFunds|not enough funds|doesn't have enough funds|insufficient balance|exceeds account balance|would cause overdraft/i,
  ],
  [
    "underpriced",
    /underpriced|FeeTooLow|fee too low|less than (?:the )?block base fee|gas price too low|gasprice is less than|below configured minimum gas price|does not satisfy your node's minimal gas price|max fee per gas less than/i,
  ],
  [
    "fatal",
    /intrinsic gas too (?:low|high)|exceeds block gas limit|exceeds (?:the )?(?:transaction )?gas cap|gas limit reached|oversized data|too big|too large|invalid sender|invalid signature|invalid chain ?id|gas floor|floor data gas|negative value|gas uint64 overflow|tx\.gas_limit >|Invalid RLP/i,
  ],
  ["transport", /timeout|timed out|busy|rate limit|too many requests|service unavailable|temporarily|try again|internal error/i],
];

/** JSON-RPC codes that mean "not processed, try again later" whatever the message. */
const RETRY_CODES: ReadonlySet<number> = new Set([
  -32603, // internal error
  -32005, // limit exceeded (EIP-1474)
  -32002, // resource unavailable
]);

export function classifySendError(error: unknown): SendErrorKind {
  if (!(error instanceof RpcError) || error.transport) return "transport";
  const message = error.details ?? "";
  for (const [kind, pattern] of BY_MESSAGE) if (pattern.test(message)) return kind;
  if (error.rpcCode !== undefined && RETRY_CODES.has(error.rpcCode)) return "transport";
  // A rejection nobody recognises: treated as "may have arrived", so the resender keeps offering the
  // same bytes and, if no node ever keeps it, abandons it as dropped. Never a silent loss.
  return "transport";
}
