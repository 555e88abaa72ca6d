import { readFileSync } from "node:fs";
import { JsonRpcProvider, Wallet, type Provider } from "ethers";
import { pino, type Logger } from "pino";
import type { Collateral } from "../attestation/dcap.js";
import { AttestationService } from "./attestation-service.js";
import { MasterKeyDeriver } from "./cluster-key.js";
import type { GatekeeperConfig } from "./config.js";
import { KeyRegistryEpochSource, type EpochSource } from "./epochs.js";
import { HttpRotationPeer, keyRegistryProposer, LocalRotationSigner, RotationCoordinator, type RotationSigner } from "./rotation.js";
import { GatekeeperServer } from "./server.js";
import { keyRegistryDomain } from "./typed-data.js";
import { ChainWorkerRegistry, type WorkerRegistryView } from "./worker-registry.js";

export interface GatekeeperDeps {
  /** Chain access; defaults to config.rpcUrl. */
  provider?: Provider;
  /** Defaults to pino at config.logLevel on stdout. */
  logger?: Logger;
  /** Overrides KeyRegistry reads (tests). */
  epochs?: EpochSource;
  /** Overrides WorkerRegistry reads (tests). */
  workers?: WorkerRegistryView;
  /** Overrides the chain side of rotations (tests without a chain). */
  rotationChain?: ReturnType<typeof keyRegistryProposer>;
  /** Rotation signers; defaults to this process plus HTTP peers from config.peers. */
  peers?: RotationSigner[];
  now?: () => number;
}

export interface Gatekeeper {
  address: string;
  server: GatekeeperServer;
  coordinator: RotationCoordinator;
  rotationSigner: LocalRotationSigner;
  start(): Promise<string>;
  stop(): Promise<void>;
}

/** Wires a gatekeeper from validated config: signer, master-key deriver, KeyRegistry, attestation service, HTTP server, rotation job. */
export function createGatekeeper(config: GatekeeperConfig, deps: GatekeeperDeps = {}): Gatekeeper {
  const logger = deps.logger ?? pino({ level: config.logLevel, base: { service: "gatekeeper" } });
  const provider = deps.provider ?? (config.rpcUrl ? new JsonRpcProvider(config.rpcUrl) : undefined);
  if (!provider && (!deps.epochs || !deps.workers)) {
    throw new Error("gatekeeper needs rpcUrl (or an injected provider) to read KeyRegistry and WorkerRegistry");
  }
  const wallet = new Wallet(config.signerPrivateKey, provider);
  const deriver = new MasterKeyDeriver(config.masterKey, { chainId: config.chainId, keyRegistry: config.keyRegistry });
  const epochs = deps.epochs ?? new KeyRegistryEpochSource(config.keyRegistry, provider!);
  const defaultCollateral = config.collateralFile ? (JSON.parse(readFileSync(config.collateralFile, "utf8")) as Collateral) : undefined;

  const attestation = new AttestationService({
    chainId: config.chainId,
    workerRegistry: config.workerRegistry,
    quorumVerifier: config.quorumVerifier,
    signer: wallet,
    deriver,
    epochs,
    workers: deps.workers ?? new ChainWorkerRegistry(config.workerRegistry, provider!),
    tcbPolicy: { accept: config.tcbAccept },
    attestationValiditySeconds: config.attestationValiditySeconds,
    simulatedQuoteMaxAgeSeconds: config.simulatedQuoteMaxAgeSeconds,
    defaultCollateral,
    logger,
    now: deps.now,
  });
  const domain = keyRegistryDomain(config.chainId, config.keyRegistry);
  const chain = deps.rotationChain ?? keyRegistryProposer(config.keyRegistry, wallet);
  const rotationSigner = new LocalRotationSigner(wallet, deriver, domain, epochs, chain);
  const peers = deps.peers ?? [rotationSigner, ...config.peers.map((url) => new HttpRotationPeer(url, config.chainId, config.keyRegistry))];
  const coordinator = new RotationCoordinator({ epochs, deriver, domain, peers, logger, signer: wallet, ...chain });
  const server = new GatekeeperServer({
    gatekeeper: wallet.address,
    chainId: config.chainId,
    keyRegistry: config.keyRegistry,
    attestation,
    rotationSigner,
    coordinator,
    adminToken: config.adminToken,
    logger,
  });

  return {
    address: wallet.address,
    server,
    coordinator,
    rotationSigner,
    async start() {
      const url = await server.listen(config.port, config.host);
      if (config.rotationSchedule) coordinator.start(config.rotationSchedule);
      logger.info({ url, gatekeeper: wallet.address, chainId: config.chainId.toString() }, "gatekeeper listening");
      return url;
    },
    async stop() {
      await coordinator.stop();
      await server.close();
    },
  };
}
