/**
 * The transports of a run, one per target: one local transport, one SSH
 * transport per session key. The launcher asks for a target's transport and
 * never chooses between local and SSH itself.
 *
 * @module
 */

import type { Target } from "./plan.ts";
import { LocalTransport } from "./transports/local.ts";
import type { Transport } from "./transports/types.ts";
import type { Logger } from "./types.ts";

function keyOf(target: Target): string {
  return target.type === "local" ? "local" : target.session;
}

/** Options of a {@linkcode TransportPool}. */
export interface TransportPoolOptions {
  /** Where SSH transports log. */
  logger: Logger;
  /** Seconds an agent waits after SIGTERM before SIGKILL, for SSH transports. */
  gracePeriod: number;
  /** Seconds an SSH link may stay silent before it counts as lost. */
  sshLease: number;
}

/** Transports made on demand, kept until {@linkcode TransportPool.close}. */
export class TransportPool {
  #options: TransportPoolOptions;
  readonly #transports = new Map<string, Transport>();

  /** Creates an empty pool. */
  constructor(options: TransportPoolOptions) {
    this.#options = options;
  }

  /** Seconds an agent waits after SIGTERM before SIGKILL, for SSH transports made from now on. */
  set gracePeriod(seconds: number) {
    this.#options = { ...this.#options, gracePeriod: seconds };
  }

  /** The transport of `target`, made on first use (the SSH module is loaded only then). */
  async for(target: Target): Promise<Transport> {
    const key = keyOf(target);
    const known = this.#transports.get(key);
    if (known !== undefined) return known;
    let t: Transport;
    if (target.type === "local") t = new LocalTransport();
    else {
      const { SshTransport } = await import("./transports/ssh.ts");
      const { logger, gracePeriod, sshLease } = this.#options;
      t = new SshTransport({
        host: target.host,
        config: target.config,
        logger,
        gracePeriod,
        lease: sshLease,
      });
    }
    this.#transports.set(key, t);
    return t;
  }

  /** Closes the transports no target of `used` needs any more (after a reload). */
  async release(used: Iterable<Target>): Promise<void> {
    const keep = new Set([...used].map(keyOf));
    const gone = [...this.#transports].filter(([key]) => !keep.has(key));
    for (const [key] of gone) this.#transports.delete(key);
    await Promise.all(gone.map(([, t]) => t.close().catch(() => {})));
  }

  /** Closes every transport (errors ignored) and empties the pool. */
  async close(): Promise<void> {
    await Promise.all([...this.#transports.values()].map((t) => t.close().catch(() => {})));
    this.#transports.clear();
  }
}
