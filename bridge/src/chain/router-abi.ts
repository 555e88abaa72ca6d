import { AGENT_REQUEST_TUPLE } from "../../../protocol/request.js";

const FULFILLMENT_TUPLE = `tuple(${AGENT_REQUEST_TUPLE} request,uint16 status,bytes output,uint256[] subAgentIds,uint96[] subAgentPrices,bytes signature)`;

/** The parts of IAgentRouter / IWorkerRegistry the bridge uses (contracts/interfaces). */
export const ROUTER_ABI = [
  `event AgentRequested(uint256 indexed requestId, uint256 indexed agentId, address indexed worker, ${AGENT_REQUEST_TUPLE} request, bytes input)`,
  "event RequestFulfilled(uint256 indexed requestId, address indexed worker, uint16 status, bool callbackSucceeded, bytes32 outputHash, uint256 totalFee, uint256 refund)",
  "event RequestTimedOut(uint256 indexed requestId, address indexed worker, address indexed caller, uint256 refund)",
  "event FulfillmentSkipped(uint256 indexed requestId)",
  `function fulfill(${FULFILLMENT_TUPLE} fulfillment)`,
  `function fulfillBatch(${FULFILLMENT_TUPLE}[] fulfillments)`,
  `function timeout(${AGENT_REQUEST_TUPLE} request)`,
  "function isPending(uint256 requestId) view returns (bool)",
  "error Error(string)",
  "error RequestNotPending(uint256 requestId)",
  "error RequestMismatch(uint256 requestId)",
  "error DeadlinePassed(uint256 requestId, uint64 deadline)",
  "error DeadlineNotPassed(uint256 requestId, uint64 deadline)",
  "error WrongSigner(uint256 requestId, address signer, address worker)",
  "error TooManySubCalls(uint256 count)",
  "error EnforcedPause()",
  "error ReentrancyGuardReentrantCall()",
] as const;

export const WORKER_REGISTRY_ABI = [
  "function isActive(address worker) view returns (bool)",
  "event WorkerRegistered(address indexed worker, address indexed operator, address indexed verifier, bytes32 measurement, uint64 expiresAt, bool simulated, string endpoint)",
  "event WorkerEndpointUpdated(address indexed worker, string endpoint)",
] as const;
