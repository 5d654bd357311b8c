/**
 * The transport seam: how the launcher starts an instance somewhere, without
 * knowing where. `local.ts` runs it on this machine, `ssh.ts` on a remote host.
 *
 * @module
 */

import type { InstanceSpec } from "../plan.ts";

/**
 * Receives an instance's output, chunk by chunk, in order. A chunk is valid only during the
 * call: copy what you keep. Returning a promise pauses reading that stream until it settles
 * (backpressure).
 */
export type OutputHandler = (
  stream: "stdout" | "stderr",
  chunk: Uint8Array,
) => void | Promise<void>;

/** How an instance ended. */
export interface ExitStatus {
  /** Exit code; 128+n when killed by signal n. */
  code: number;
  /** The signal that killed it, if any. */
  signal: string | null;
  /** Set when the link to its host was lost: the instance was stopped by its agent, not by itself. */
  lost?: string;
}

/** A started instance. */
export interface RunningInstance {
  /** Its pid on its host. */
  readonly pid: number;
  /** Sends a signal to its whole process group. Never throws. */
  kill(signal: Deno.Signal): void;
  /**
   * Resolves once it has exited and its output was handed to the {@linkcode OutputHandler}:
   * all of it, unless a child that left its process group holds its pipes open; then what
   * came until about a second after the exit (the rest is not read).
   */
  readonly status: Promise<ExitStatus>;
}

/** Thrown by {@linkcode Transport.start} when an instance could not be started. */
export class StartError extends Error {
  /** True when retrying cannot help (authentication refused, runtime missing…). */
  readonly fatal: boolean;
  /**
   * True when the host was reached before and cannot be now: an outage, not
   * the instance's failure, so it is retried until the host is back.
   */
  readonly outage: boolean;
  /** Creates the error. */
  constructor(
    message: string,
    options: { fatal?: boolean; outage?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "StartError";
    this.fatal = options.fatal ?? false;
    this.outage = !this.fatal && (options.outage ?? false);
  }
}

/** Starts instances on one host. */
export interface Transport {
  /** The host's name as shown in logs. */
  readonly host: string;
  /**
   * Starts one instance. Rejects with a {@linkcode StartError} when it cannot;
   * rejects with the signal's reason when `signal` aborts first.
   */
  start(spec: InstanceSpec, onOutput: OutputHandler, signal: AbortSignal): Promise<RunningInstance>;
  /** Releases the transport's resources (its instances must have ended). */
  close(): Promise<void>;
}
