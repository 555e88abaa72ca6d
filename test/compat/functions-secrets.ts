import { expect } from "chai";
import { secp256k1 } from "@noble/curves/secp256k1";
import { hexlify, parseEther, toUtf8String } from "ethers";
import { network } from "hardhat";
import { FUNCTIONS_AGENT_ENTRY, createSubscription, sealFunctionsSecrets, setUpFunctions } from "../../devkit/functions.js";
import { startAgentTestbed } from "../../devkit/testing.js";
import { ClusterKeyring } from "../../protocol/cluster-keyring.js";
import { publicKeyOf } from "../../protocol/confidential.js";
import type { ChainlinkFunctionsConsumer } from "../../types/ethers-contracts/index.js";

/**
 * Chainlink's `secrets`, from our confidential path: sealed to the cluster key for (adapter,
 * functions agent, client contract) and carried in the request as Chainlink's encrypted secrets
 * reference; the worker holding the cluster key opens them for the source of that client only.
 */
describe("Chainlink Functions secrets through the adapter (test kit: real worker executor, in-process chain)", function () {
  this.timeout(120_000);

  it("the client's source reads its secrets; a copy in another client's request opens nothing", async () => {
    const clusterKey = secp256k1.utils.randomPrivateKey();
    const keyring = new ClusterKeyring();
    keyring.add(1, clusterKey, null);
    const connection = await network.create();
    const kit = await startAgentTestbed(connection, { decryptor: keyring });
    try {
      const agent = await kit.registerAgent(FUNCTIONS_AGENT_ENTRY);
      const { adapter, donId } = await setUpFunctions(connection, kit.net, { agent });
      const deploy = async () =>
        (await connection.ethers.deployContract("ChainlinkFunctionsConsumer", [adapter.target])) as unknown as ChainlinkFunctionsConsumer;
      const [victim, thief] = [await deploy(), await deploy()];
      const subscriptionId = await createSubscription(kit.net, adapter, {
        funding: parseEther("10"),
        consumers: [await victim.getAddress(), await thief.getAddress()],
      });

      const sealed = sealFunctionsSecrets(
        { apiKey: "sk-live-4242" },
        {
          keyEpoch: 1,
          clusterPublicKey: hexlify(publicKeyOf(clusterKey)),
          chainId: (await connection.ethers.provider.getNetwork()).chainId,
          adapter: String(adapter.target),
          agentId: agent.agentId,
          client: await victim.getAddress(),
        },
      );
      const source = "return Functions.encodeString('key=' + (secrets.apiKey ?? 'none'))";
      const ask = async (consumer: ChainlinkFunctionsConsumer, secrets: string, slot = 0, version = 0) => {
        await (await consumer.sendRequest(source, secrets, slot, version, [], [], subscriptionId, 300_000, donId)).wait();
        const [answer] = await kit.answerPending();
        expect(answer!.statusName).to.equal("OK");
        return { response: toUtf8String(await consumer.s_lastResponse()), err: toUtf8String(await consumer.s_lastError()) };
      };

      expect(await ask(victim, sealed)).to.deep.equal({ response: "key=sk-live-4242", err: "" });
      // The sealed bytes are public (they were in the victim's calldata): the thief sends them as its own.
      expect(await ask(thief, sealed)).to.deep.equal({ response: "", err: "cannot decrypt forwarded input (key epoch 1)" });
      // Chainlink's DON-hosted secrets (slot 0, version 1) have no gateway here: a clear error.
      expect((await ask(victim, "0x", 0, 1)).err).to.match(/^DON-hosted secrets are not supported/);
    } finally {
      await kit.close();
      await connection.close();
    }
  });
});
