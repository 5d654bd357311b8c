/**
 * The instances of one agent session, by key, and what the agent's events
 * do to them: `started`, `error`, `exit`, `res`, `stopping`, and after a
 * re-attaching `ready` the replay bookkeeping (adopted, dropped, lost).
 *
 * @module
 */

import { type AgentEvent, FRAME } from "../../protocol/agent.ts";
import type { ExitStatus, InstanceResources, OutputHandler } from "./types.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Receives what one instance uses, measured by the agent on its host. */
export type ResourcesHandler = (usage: Omit<InstanceResources, "id">) => void;

/** One instance of the session, by key: where its output goes, its start and exit. */
export interface Pending {
  onOutput: OutputHandler;
  onResources: ResourcesHandler | undefined;
  started: PromiseWithResolvers<number>;
  exit: PromiseWithResolvers<ExitStatus>;
  /** Its pid, once started. */
  pid?: number;
}

/** What the session does on the agent's word. */
export interface SessionHooks {
  /** The agent said ready (once). */
  ready(): void;
  /** Kills instance `key`: the agent runs it, nobody here waits for it. */
  kill(key: number): void;
}

/** The instance table of one session, fed with the agent's frames. */
export class SessionInstances {
  /** The instances, by key. */
  readonly keys = new Map<number, Pending>();
  readonly #hooks: SessionHooks;
  #isReady = false;
  /** Sequence number of the last frame received (after `ready`). */
  #seq = 0;
  /** Frames of the replay still to come after a re-attaching `ready`; then the check. */
  #replayLeft = -1;
  #adopted: Set<number> | undefined;
  #dropped = 0;
  /** Set once the agent said it is stopping everything: why. */
  #dying: string | undefined;

  /** A table whose `ready` and kills go to `hooks`. */
  constructor(hooks: SessionHooks) {
    this.#hooks = hooks;
  }

  /** True once the agent said ready. */
  get isReady(): boolean {
    return this.#isReady;
  }

  /** Sequence number of the last agent frame received. */
  get seq(): number {
    return this.#seq;
  }

  /** Frames the agent's bounded buffer dropped while no link was up (re-attached sessions). */
  get dropped(): number {
    return this.#dropped;
  }

  /** Why the agent is stopping every instance, once it said so. */
  get dying(): string | undefined {
    return this.#dying;
  }

  /** Handles one frame of the agent: output to its instance, or an event. */
  frame(kind: number, key: number, payload: Uint8Array): void | Promise<void> {
    if (this.#isReady) {
      this.#seq++;
      if (this.#replayLeft > 0 && --this.#replayLeft === 0) {
        queueMicrotask(() => this.#replayedAll());
      }
    }
    if (kind !== FRAME.event) {
      // a view of the reader's buffer, valid during the call: the OutputHandler contract
      return this.keys.get(key)?.onOutput(kind === FRAME.stdout ? "stdout" : "stderr", payload);
    }
    let event: AgentEvent;
    try {
      event = JSON.parse(decoder.decode(payload));
    } catch {
      return;
    }
    switch (event.t) {
      case "ready":
        if (this.#isReady) break;
        this.#isReady = true;
        this.#seq = event.seq ?? 0;
        if (event.adopted !== undefined) {
          this.#adopted = new Set(event.adopted.map((a) => a.key));
          this.#dropped = event.dropped ?? 0;
          // said in the instance's own output, where the missing lines were
          for (const l of event.lost ?? []) {
            this.keys.get(l.key)?.onOutput(
              "stderr",
              encoder.encode(`\n[distarch: ${lostText(l)}]\n`),
            );
          }
          // started by a command whose answer was lost with the old link: nobody waits for it
          for (const a of event.adopted) {
            if (!this.keys.has(a.key)) this.#hooks.kill(a.key);
          }
          this.#replayLeft = event.replay ?? 0;
          if (this.#replayLeft === 0) queueMicrotask(() => this.#replayedAll());
        }
        this.#hooks.ready();
        break;
      case "started": {
        const p = this.keys.get(event.key);
        if (p !== undefined) p.pid = event.pid;
        p?.started.resolve(event.pid);
        break;
      }
      case "error": {
        const p = this.keys.get(event.key);
        this.keys.delete(event.key);
        p?.started.reject(new Error(event.message));
        break;
      }
      case "exit": {
        const p = this.keys.get(event.key);
        this.keys.delete(event.key);
        const lost = event.lost ?? this.#dying;
        p?.exit.resolve({ code: event.code, signal: event.signal, ...(lost ? { lost } : {}) });
        break;
      }
      case "stopping":
        // its lease ran out (we could not keep it), or it was told to stop: every instance
        // it still has is lost, and new ones go to a new session
        this.#dying ??= `the agent stopped every instance: ${event.reason}`;
        break;
      case "res":
        if (!Array.isArray(event.v)) break;
        for (const row of event.v) {
          if (!Array.isArray(row)) continue;
          const [key, pid, cpuSeconds, rss] = row;
          this.keys.get(key)?.onResources?.({ pid, cpuSeconds, rss, time: event.time });
        }
        break;
        // any other event (from a newer agent) is ignored
    }
  }

  /**
   * The replay after a re-attaching `ready` is over: an inherited instance
   * neither running nor reported ended has ended with its report dropped.
   */
  #replayedAll(): void {
    this.#replayLeft = -1;
    for (const [key, p] of this.keys) {
      if (this.#adopted?.has(key) || p.pid === undefined) continue;
      this.keys.delete(key);
      p.exit.resolve({
        code: 255,
        signal: null,
        lost: "it ended while no master was attached, and the agent's buffer dropped its exit",
      });
    }
  }
}

/**
 * What a re-attached master says in an instance's output where the agent's
 * buffer dropped some of it (an agent older than `lines` counts chunks).
 */
function lostText(l: { chunks: number; bytes: number; lines?: number }): string {
  const amount = typeof l.lines === "number"
    ? `${l.lines} lines (${megabytes(l.bytes)})`
    : `${l.chunks} chunks (${megabytes(l.bytes)})`;
  return "the agent's buffer was full while no master was attached: " +
    `${amount} of this instance's output were dropped`;
}

function megabytes(bytes: number): string {
  return bytes >= 100_000 ? `${(bytes / 1e6).toFixed(1)} MB` : `${bytes} bytes`;
}
