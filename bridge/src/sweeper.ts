import type { AgentRequest } from "../../protocol/request.js";
import type { ChainClient } from "./chain/chain-client.js";
import { SimulationError } from "./errors.js";
import type { Logger } from "./logger.js";
import type { BridgeStore } from "./store/store.js";
import type { TxManager } from "./txm/tx-manager.js";

export interface SweeperOptions {
  /** Also time out requests the bridge only saw (anyone may call timeout), not only dispatched ones. */
  sweepAll: boolean;
}

const SWEEP_LIMIT = 200;
const GAS_LIMIT_HEADROOM_PERCENT = 25n;
const PERCENT = 100n;

/**
 * Times out expired, unsettled requests on-chain (refund + slash). A request held by an unmined
 * timeout transaction is not swept again (the store links it); when that transaction is abandoned
 * or reverts the link is released and the next sweep retries.
 */
export class Sweeper {
  constructor(
    private readonly chain: ChainClient,
    private readonly store: BridgeStore,
    private readonly txm: TxManager,
    private readonly options: SweeperOptions,
    private readonly log: Logger,
  ) {}

  /** Returns how many timeouts were sent. */
  async sweep(): Promise<number> {
    const head = await this.chain.block("latest");
    if (!head) return 0;
    let expired = this.store.expired(head.timestamp, SWEEP_LIMIT);
    if (!this.options.sweepAll) expired = expired.filter((r) => r.state !== "seen");
    if (expired.length === 0) return 0;
    const sent = await this.txm.exclusive(() => this.sendTimeouts(expired.map((r) => r.request)));
    if (sent > 0) this.log.info({ event: "sweep", expired: expired.length, sent }, "timed out expired requests");
    return sent;
  }

  private async sendTimeouts(requests: AgentRequest[]): Promise<number> {
    let sent = 0;
    for (const request of requests) {
      const data = this.chain.encodeTimeout(request);
      let estimate: bigint;
      try {
        estimate = await this.chain.estimateGas(data);
      } catch (error) {
        if (!(error instanceof SimulationError)) throw error;
        // Usually settled meanwhile or not yet past the deadline in the next block; the watcher records settlements.
        this.log.debug({ event: "timeout_skipped", requestId: request.id.toString(), reason: error.reason }, "timeout would revert; not sent");
        continue;
      }
      const gasLimit = (estimate * (PERCENT + GAS_LIMIT_HEADROOM_PERCENT)) / PERCENT;
      const result = await this.txm.send({ kind: "timeout", to: this.chain.router, data, gasLimit, requestIds: [request.id] });
      if (!result.sent) break;
      sent++;
    }
    return sent;
  }
}
