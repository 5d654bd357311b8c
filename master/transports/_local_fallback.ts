/**
 * The local agent, with a way out: when it cannot run here (its cache
 * directory cannot be written, no `sh`…), local instances run as the
 * master's own children instead, as with no adopt window: they work, but die
 * with the master. Said once, with why.
 *
 * @module
 */

import { errorMessage } from "../../_shared/errors.ts";
import type { InstanceSpec } from "../plan.ts";
import type { Logger } from "../types.ts";
import type {
  AdoptedRun,
  AdoptOptions,
  AgentHandle,
  OutputHandler,
  RunningInstance,
  Transport,
} from "./types.ts";
import { StartError } from "./types.ts";

/** `agent` while it works; `direct` from its first fatal start error on. */
export class LocalFallback implements Transport {
  readonly host: string;
  readonly #agent: Transport;
  readonly #direct: () => Transport;
  readonly #logger: Logger;
  #fallback: Transport | undefined;

  /** `direct` is made on the first fatal error of `agent`. */
  constructor(agent: Transport, direct: () => Transport, logger: Logger) {
    this.host = agent.host;
    this.#agent = agent;
    this.#direct = direct;
    this.#logger = logger;
  }

  async start(
    spec: InstanceSpec,
    onOutput: OutputHandler,
    signal: AbortSignal,
  ): Promise<RunningInstance> {
    if (this.#fallback === undefined) {
      try {
        return await this.#agent.start(spec, onOutput, signal);
      } catch (error) {
        if (!(error instanceof StartError) || !error.fatal) throw error;
        // another start failed the same way meanwhile: said once
        const meanwhile = this.#fallback as Transport | undefined;
        if (meanwhile !== undefined) return await meanwhile.start(spec, onOutput, signal);
        this.#fallback = this.#direct();
        this.#logger.log({
          level: "warning",
          time: Date.now(),
          host: this.host,
          message: `cannot run local instances under a local agent (${errorMessage(error)}): ` +
            "they run as the master's children, and die with it (no handover for them)",
        });
      }
    }
    return await this.#fallback.start(spec, onOutput, signal);
  }

  records(): AgentHandle[] {
    return this.#agent.records?.() ?? [];
  }

  adopt(agents: AgentHandle[], options?: AdoptOptions): Promise<Map<number, AdoptedRun>> {
    return this.#agent.adopt?.(agents, options) ?? Promise.resolve(new Map());
  }

  async leave(): Promise<void> {
    await Promise.all([this.#agent.leave?.(), this.#fallback?.close()]);
  }

  async close(): Promise<void> {
    await Promise.all([this.#agent.close(), this.#fallback?.close()]);
  }
}
