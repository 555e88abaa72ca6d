import { expect } from "chai";
import { AbiCoder, Interface, hexlify, keccak256, randomBytes } from "ethers";
import { decodeAgentRequested } from "../../bridge/src/chain/json-rpc-chain-client.js";
import { ROUTER_ABI } from "../../bridge/src/chain/contracts.js";
import { randomRequest } from "./random-request.js";
import { AGENT_REQUEST_FIELDS, agentRequestToJson, encodeAgentRequest, requestHash, toAgentRequest } from "../../protocol/request.js";

const iface = new Interface(ROUTER_ABI);
/** The compiled AgentRequest tuple, as the router's AgentRequested event declares it. */
const requestParam = iface.getEvent("AgentRequested")!.inputs.find((input) => input.name === "request")!;

describe("protocol/request", () => {
  it("lists the fields of the compiled AgentRequest, in order", () => {
    expect(AGENT_REQUEST_FIELDS).to.deep.equal(requestParam.components!.map((c) => c.name));
  });

  it("encodes and hashes like abi.encode of the compiled struct", () => {
    for (let i = 0; i < 20; i++) {
      const request = randomRequest();
      const encoded = AbiCoder.defaultAbiCoder().encode([requestParam], [request]);
      expect(`0x${encodeAgentRequest(request)}`).to.equal(encoded);
      expect(requestHash(request)).to.equal(keccak256(encoded));
    }
  });

  it("decodes AgentRequested as ethers encodes it, the capacity fee included", () => {
    const request = randomRequest();
    const input = hexlify(randomBytes(45));
    const log = iface.encodeEventLog("AgentRequested", [request.id, request.agentId, request.worker, request, input]);
    const decoded = decodeAgentRequested(log.data);
    expect(decoded.request.capacityFee).to.equal(request.capacityFee);
    expect(decoded.request.configVersion).to.equal(request.configVersion);
    expect(decoded.input).to.equal(input);
    expect(decoded.requestHash).to.equal(requestHash(request));
  });

  it("round-trips through JSON and refuses a request missing a field by name", () => {
    const request = randomRequest();
    expect(requestHash(toAgentRequest(agentRequestToJson(request)))).to.equal(requestHash(request));
    const { capacityFee: _dropped, ...older } = agentRequestToJson(request);
    expect(() => toAgentRequest(older)).to.throw(TypeError, "request.capacityFee is missing");
  });
});
