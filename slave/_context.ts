/**
 * The {@linkcode HandlerContext} a `Handler` gives the worker: its
 * ids, the logger, ping pacing, readiness, group count changes, and stop
 * requests; each writes protocol lines to stdout.
 *
 * @module
 */

import {
  encodeMessage,
  type Level,
  LEVELS,
  type WorkerContext,
  type WorkerGroupConfig,
  type WorkerMessage,
} from "../protocol/worker.ts";
import { errorMessage } from "../_shared/errors.ts";
import type { HandlerContext, Logger } from "./handler.ts";

const encoder = new TextEncoder();

/** Writes all of `text` to `file`. */
export function writeAllSync(file: { writeSync(p: Uint8Array): number }, text: string): void {
  const bytes = encoder.encode(text);
  let offset = 0;
  while (offset < bytes.length) offset += file.writeSync(bytes.subarray(offset));
}

/** The context of the instance `context` describes, pinging at most every `pingInterval` s. */
export class Context implements HandlerContext {
  readonly id: number;
  readonly groupId: number;
  #groupCount: number;
  readonly #countListeners = new Set<(groupCount: number, previous: number) => void>();
  readonly host: string;
  readonly groupConfig: WorkerGroupConfig;
  readonly params: Record<string, unknown>;
  readonly logger: Logger;
  readonly #controller = new AbortController();
  readonly #pingGap: number;
  #lastPing = -Infinity;
  #ready = false;

  constructor(context: WorkerContext, pingInterval: number) {
    this.id = context.id;
    this.groupId = context.groupId;
    this.#groupCount = context.groupCount;
    this.host = context.host;
    this.groupConfig = context.group;
    this.params = context.group.params;
    this.#pingGap = pingInterval * 1000;
    const logger = {} as Record<Level, Logger[Level]>;
    for (const level of LEVELS) {
      logger[level] = (message, context) => this.log(level, message, context);
    }
    this.logger = Object.freeze(logger);
  }

  get groupCount(): number {
    return this.#groupCount;
  }

  onGroupCountChange(listener: (groupCount: number, previous: number) => void): () => void {
    this.#countListeners.add(listener);
    return () => void this.#countListeners.delete(listener);
  }

  /** The master's word that the group now has `groupCount` instances. */
  setGroupCount(groupCount: number): void {
    const previous = this.#groupCount;
    if (groupCount === previous) return;
    this.#groupCount = groupCount;
    for (const listener of [...this.#countListeners]) {
      try {
        listener(groupCount, previous);
      } catch (error) {
        const msg = `onGroupCountChange listener failed: ${errorMessage(error)}`;
        this.log("error", msg, undefined);
      }
    }
  }

  get signal(): AbortSignal {
    return this.#controller.signal;
  }

  get stopping(): boolean {
    return this.#controller.signal.aborted;
  }

  mustStop(): boolean {
    return this.stopping;
  }

  ping(): void {
    const now = performance.now();
    if (now - this.#lastPing < this.#pingGap) return;
    this.#lastPing = now;
    this.write({ t: "ping" });
  }

  ready(): void {
    if (this.#ready) return;
    this.#ready = true;
    this.write({ t: "ready" });
  }

  sleep(seconds: number): Promise<boolean> {
    const signal = this.#controller.signal;
    if (signal.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const onAbort = () => {
        clearTimeout(timer);
        resolve(false);
      };
      const timer = setTimeout(() => {
        signal.removeEventListener("abort", onAbort);
        resolve(true);
      }, Math.max(0, seconds * 1000));
      signal.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Asks the worker to stop; the first reason wins. */
  requestStop(reason: string): void {
    if (this.stopping) return;
    this.#controller.abort(new DOMException(`stop requested: ${reason}`, "AbortError"));
  }

  log(level: Level, msg: string, ctx: Record<string, unknown> | undefined): void {
    this.write(ctx === undefined ? { t: "log", level, msg } : { t: "log", level, msg, ctx });
  }

  /** Writes one protocol line, synchronously so it stays in order with `console.log`. */
  write(message: WorkerMessage): void {
    let line: string;
    try {
      line = encodeMessage(message);
    } catch (error) {
      // a context JSON cannot encode (a BigInt, a cycle…): keep the message, explain the context
      if (message.t !== "log") throw error;
      const ctxError = `context not serializable: ${String(error)}`;
      line = encodeMessage({ t: "log", level: message.level, msg: message.msg, ctx: { ctxError } });
    }
    try {
      writeAllSync(Deno.stdout, line);
    } catch {
      // stdout is gone, so is the master
      this.requestStop("stdout closed");
    }
  }
}
