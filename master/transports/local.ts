/**
 * Running instances on this machine with `Deno.Command`, through
 * {@linkcode spawnProcess} (`_shared/spawn.ts`, which the host agent uses too).
 *
 * @module
 */

import type { InstanceSpec } from "../plan.ts";
import { spawnProcess } from "../../_shared/spawn.ts";
import type { OutputHandler, RunningInstance, Transport } from "./types.ts";
import { argvFor, denoRuntime } from "./_argv.ts";

/** Runs instances on this machine. */
export class LocalTransport implements Transport {
  /** Always `localhost`. */
  readonly host = "localhost";
  readonly #runtime: string;

  /**
   * Creates the transport.
   * @param runtime The Deno executable for Deno scripts. @default {denoRuntime()}
   */
  constructor(runtime: string = denoRuntime()) {
    this.#runtime = runtime;
  }

  /** Starts one instance; see {@linkcode Transport.start}. */
  start(
    spec: InstanceSpec,
    onOutput: OutputHandler,
    signal: AbortSignal,
  ): Promise<RunningInstance> {
    if (signal.aborted) return Promise.reject(signal.reason);
    try {
      return Promise.resolve(spawnProcess({
        argv: argvFor(spec.exec, this.#runtime),
        ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
        env: spec.env,
        ...(spec.priority !== undefined ? { priority: spec.priority } : {}),
        stdinLine: JSON.stringify(spec.context) + "\n",
      }, onOutput));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
