// Long on purpose: one state machine (start or adopt, run, stop, restart) over shared private state; the pure parts are in _instance_*.ts, _restart_policy.ts and _liveness.ts.
/**
 * One supervised instance: starts it through its transport, relays its
 * output as log records, watches its liveness and readiness, restarts it by
 * policy with backoff, and stops it (SIGTERM, grace, SIGKILL to its process
 * group).
 *
 * @module
 */

import { delay } from "../_shared/delay.ts";
import { encodeMasterMessage, type Level } from "../protocol/worker.ts";
import { OutputRelay } from "./_relay.ts";
import {
  emit,
  type EventHandlers,
  type InstanceInfo,
  type InstanceState,
  type StopReason,
} from "./events.ts";
import type { InstanceSpec } from "./plan.ts";
import { respec } from "./_respec.ts";
import type { AdoptedRun, ExitStatus, RunningInstance, Transport } from "./transports/types.ts";
import type { Logger } from "./types.ts";
import { instanceInfo, instanceRecord } from "./_instance_info.ts";
import { hungFor } from "./_liveness.ts";
import { Waiters } from "./_waiters.ts";
import { decide, NO_RUNS, type RestartCounters } from "./_restart_policy.ts";
import { readyAt } from "./_readiness.ts";
import { RunReadiness } from "./_instance_ready.ts";
import type { SupervisorSettings } from "./_settings.ts";

/** What a state file kept of an adopted run (handover). */
export interface AdoptedRecord {
  /** When the run started (ms since epoch). */
  startedAt: number;
  /** Runs so far, that one included. */
  runs: number;
  /** Restarts after failures so far. */
  restarts: number;
  /** Whether it had said ready. */
  ready: boolean;
}

/** One instance under supervision. */
export class Instance {
  #spec: InstanceSpec;
  /** Called when it becomes ready or done: the launcher's start gates ask again then. */
  onChange: (() => void) | undefined;
  readonly #transport: Transport;
  readonly #logger: Logger;
  readonly #events: EventHandlers;
  readonly #set: SupervisorSettings;
  #state: InstanceState = "pending";
  #running: RunningInstance | undefined;
  #startAbort: AbortController | undefined;
  #stopGraceMs: number | undefined;
  #restartWait: AbortController | undefined;
  #killTimer: ReturnType<typeof setTimeout> | undefined;
  #startedAt: number | undefined;
  #relay: OutputRelay | undefined;
  #counters: RestartCounters = NO_RUNS;
  #runs = 0;
  #reason: StopReason | undefined; // why the current run is being ended by us
  #lastReason: StopReason | undefined;
  #loop: Promise<void> = Promise.resolve();
  readonly #doneWaiters = new Waiters();
  readonly #aliveWaiters = new Waiters();
  readonly #readiness = new RunReadiness();
  /** A run a previous master left, for the next {@linkcode start} to take over (handover). */
  #adopted: { run: AdoptedRun; record: AdoptedRecord } | undefined;

  /** Creates the instance (it does not start). */
  constructor(
    spec: InstanceSpec,
    transport: Transport,
    logger: Logger,
    events: EventHandlers,
    settings: SupervisorSettings,
  ) {
    this.#spec = spec;
    this.#transport = transport;
    this.#logger = logger;
    this.#events = events;
    this.#set = settings;
  }

  /** What it runs: ids, host, command, context. */
  get spec(): InstanceSpec {
    return this.#spec;
  }

  /**
   * A reload may replace the spec with a copy whose supervision settings
   * (`timeout`, `waitReady`, `readyTimeout`) differ; what it runs stays.
   */
  set spec(spec: InstanceSpec) {
    this.#spec = spec;
  }

  /**
   * The group now has `groupCount` instances: later runs start with it, and
   * a running instance is told (a `groupCount` line on its stdin).
   */
  regroup(groupCount: number): void {
    const s = this.#spec;
    if (groupCount === s.groupCount) return;
    this.#spec = respec(s, s.id, s.groupId, groupCount);
    if (this.#running !== undefined) tellGroupCount(this.#running, groupCount);
  }

  /** When the current (or last) run last printed anything, or started. */
  get #lastSeen(): number | undefined {
    return this.#relay?.lastSeen ?? this.#startedAt;
  }

  /** Current state. */
  get state(): InstanceState {
    return this.#state;
  }

  /** True once the current run has printed anything (or pinged). */
  get alive(): boolean {
    return this.#state === "running" && this.#relay?.lastSeen !== undefined;
  }

  /**
   * Resolves once {@linkcode Instance.alive} is true: at once when it is,
   * else when a run has started and printed (or pinged), through restarts.
   * Rejects when the instance is done first (it will not run again unless
   * started), or with `signal`'s reason when `signal` aborts first.
   */
  whenAlive(signal?: AbortSignal): Promise<void> {
    if (this.alive) return Promise.resolve();
    if (this.done) return Promise.reject(this.#notAlive());
    return this.#aliveWaiters.wait(signal);
  }

  /** Settles the {@linkcode Instance.whenAlive} promises, when there is news for them. */
  #tellWaiters(): void {
    if (this.#aliveWaiters.size === 0) return;
    if (this.alive) this.#aliveWaiters.resolveAll();
    else if (this.done) this.#aliveWaiters.rejectAll(this.#notAlive());
  }

  #notAlive(): Error {
    const s = this.spec;
    return new Error(`${s.label} on ${s.host} is done (state ${this.#state}) and not alive`);
  }

  /** When the current run became ready (see {@linkcode readyAt}), while it runs. */
  get #readyAt(): number | undefined {
    if (this.#state !== "running" && this.#state !== "stopping") return undefined;
    const { waitReady, readyTimeout } = this.spec;
    return readyAt({ waitReady, readyTimeoutMs: readyTimeout * 1000 }, {
      ...(this.#startedAt !== undefined ? { startedAt: this.#startedAt } : {}),
      ...(this.#readiness.saidAt !== undefined ? { saidReadyAt: this.#readiness.saidAt } : {}),
    });
  }

  /**
   * True while the current run is ready: running, and it said
   * `@distarch/1 ready` (`waitReady`) or simply started (without).
   */
  get ready(): boolean {
    return this.#state === "running" && this.#readyAt !== undefined;
  }

  /**
   * Resolves once {@linkcode Instance.ready} is true, through restarts.
   * Rejects when the instance is done first, or with `signal`'s reason.
   */
  whenReady(signal?: AbortSignal): Promise<void> {
    if (this.ready) return Promise.resolve();
    if (this.done) return Promise.reject(this.#notAlive());
    return this.#readiness.wait(signal);
  }

  /** True when it will not run again unless resumed. */
  get done(): boolean {
    const s = this.#state;
    return s === "ended" || s === "stopped" || s === "failed" || s === "suspended";
  }

  /** Snapshot for `ps` and events. */
  info(): InstanceInfo {
    return instanceInfo(this.spec, {
      state: this.#state,
      pid: this.#running?.pid,
      startedAt: this.#startedAt,
      lastSeen: this.#lastSeen,
      restarts: this.#counters.restarts,
      runs: this.#runs,
      ready: this.ready,
      readyAt: this.#readyAt,
      lastReason: this.#lastReason,
    });
  }

  /** Resolves when the instance reaches a `done` state. */
  whenDone(): Promise<void> {
    if (this.done && this.#running === undefined) return Promise.resolve();
    return this.#doneWaiters.wait();
  }

  /**
   * Marks it `pending` without starting it: it waits for the groups it
   * depends on (the launcher starts it, or {@linkcode Instance.block}s it).
   */
  hold(): void {
    if (this.done || this.#state === "pending") this.#state = "pending";
  }

  /** A held instance that will not start: a group it depends on gave up. */
  block(message: string): void {
    if (this.#state !== "pending") return;
    this.#log("error", message);
    this.#lastReason = "dependency";
    emit(this.#events, {
      kind: "instanceStopped",
      instance: { ...this.info(), state: "failed", lastReason: "dependency" },
      reason: "dependency",
      code: null,
      signal: null,
      willRestart: false,
    });
    this.#setDone("failed");
  }

  /**
   * Makes the next {@linkcode start} take over `run`, which a previous
   * master left running (handover), with its start time and counters,
   * instead of starting a new one.
   */
  adopt(run: AdoptedRun, record: AdoptedRecord): void {
    this.#adopted = { run, record };
    this.#runs = record.runs - 1; // the take-over counts it again
    this.#counters = { ...NO_RUNS, restarts: record.restarts };
  }

  /** Starts it (from pending, suspended, ended, stopped or failed). */
  start(): void {
    if (this.#state === "running" || this.#state === "starting" || this.#state === "stopping") {
      return;
    }
    this.#clearRestart();
    if (this.#adopted !== undefined) {
      this.#loop = this.#run();
      return;
    }
    const { restarts } = this.#counters;
    this.#counters = restarts === 0 ? NO_RUNS : { ...NO_RUNS, restarts }; // shared until a run counts
    this.#loop = this.#run();
  }

  /**
   * Stops it: SIGTERM, then SIGKILL to its process group after the grace
   * period (at once when `graceMs` is 0). Resolves when it is gone.
   */
  async stop(reason: "stopped" | "suspended", graceMs: number = this.#set.graceMs): Promise<void> {
    const final = reason === "suspended" ? "suspended" : "stopped";
    if (this.#running === undefined) {
      if (this.#state === "starting") {
        this.#reason ??= reason;
        this.#stopGraceMs = graceMs; // for a start that resolved before it saw the abort
        this.#startAbort?.abort(new Error(reason));
      } else if (this.#state === "restarting" || this.#state === "pending") {
        this.#clearRestart();
        this.#setDone(final);
      } else if (this.#state === "suspended" && reason === "stopped") {
        this.#setDone("stopped");
      }
      await this.#loop;
      return;
    }
    this.#reason ??= reason;
    this.#state = "stopping";
    this.#terminate(graceMs);
    await this.#loop;
  }

  /** Periodic liveness check. */
  check(now: number): void {
    if (this.#state !== "running") return;
    const timeout = this.spec.timeout;
    const silent = hungFor(now, {
      timeout,
      lastSeen: this.#lastSeen,
      paused: this.#relay?.paused ?? false,
    });
    if (silent === undefined) return;
    const timeouts = this.#counters.timeouts + 1;
    this.#counters = { ...this.#counters, timeouts };
    this.#log(
      "warning",
      `hung: no output for ${(silent / 1000).toFixed(1)} s (timeout ${timeout} s), killing it`,
    );
    emit(this.#events, { kind: "instanceTimedOut", instance: this.info(), silentFor: silent });
    this.#reason ??= "timeout";
    this.#state = "stopping";
    this.#terminate(this.#set.graceMs);
  }

  #terminate(graceMs: number): void {
    const running = this.#running;
    if (running === undefined) return;
    if (graceMs <= 0) {
      running.kill("SIGKILL");
      return;
    }
    running.kill("SIGTERM");
    if (this.#killTimer === undefined) {
      this.#killTimer = setTimeout(() => {
        this.#killTimer = undefined;
        this.#log("warning", `still running ${graceMs / 1000} s after SIGTERM, sending SIGKILL`);
        running.kill("SIGKILL");
      }, graceMs);
    }
  }

  #clearRestart(): void {
    this.#restartWait?.abort();
    this.#restartWait = undefined;
  }

  #setDone(state: "ended" | "stopped" | "failed" | "suspended"): void {
    this.#state = state;
    this.#tellWaiters();
    if (this.#readiness.size > 0) this.#readiness.rejectAll(this.#notAlive());
    this.#doneWaiters.resolveAll();
    this.onChange?.();
  }

  /** The run is ready (again): log it when it had to say so, tell whoever waits. */
  #becameReady(): void {
    const at = this.#readyAt;
    if (at === undefined || this.#state !== "running" || !this.#readiness.tell()) return;
    const after = at - (this.#startedAt ?? at);
    if (this.spec.waitReady) this.#log("info", `ready (after ${(after / 1000).toFixed(1)} s)`);
    if (this.#events.instanceReady !== undefined) {
      emit(this.#events, { kind: "instanceReady", instance: this.info(), after });
    }
    this.#readiness.resolveAll();
    this.onChange?.();
  }

  /** waitReady: kills the run when it has not said ready within readyTimeout (a failed start). */
  #armReadyTimer(): void {
    if (!this.spec.waitReady || this.#readiness.saidAt !== undefined) return;
    const seconds = this.spec.readyTimeout;
    this.#readiness.arm(seconds * 1000, () => {
      if (this.#state !== "running" || this.ready) return;
      this.#log(
        "error",
        `not ready within ${seconds} s (readyTimeout), killing it: a failed start`,
      );
      this.#reason ??= "not-ready";
      this.#state = "stopping";
      this.#terminate(this.#set.graceMs);
    });
  }

  #log(level: Level, message: string, context?: Record<string, unknown>): void {
    this.#logger.log(instanceRecord(this.spec, level, message, context));
  }

  async #run(): Promise<void> {
    while (true) {
      this.#state = "starting";
      this.#reason = undefined;
      const abort = new AbortController();
      this.#startAbort = abort;
      this.#stopGraceMs = undefined;
      const relay = new OutputRelay(
        this.spec,
        this.#logger,
        this.#events.instanceSeen &&
          ((line) => emit(this.#events, { kind: "instanceSeen", instance: this.info(), line })),
        this.#set.maxLineBytes,
      );
      this.#relay = relay;
      this.#readiness.newRun();
      relay.onReady = () => {
        if (this.#relay !== relay) return;
        this.#readiness.said(relay.readyAt);
        this.#becameReady(); // before the start is known, it is told once running
      };
      // info() only for a hook that listens: an unheard event costs nothing
      if (this.#events.instanceCreated !== undefined) {
        emit(this.#events, { kind: "instanceCreated", instance: this.info() });
      }
      let status: ExitStatus | undefined;
      let startError: unknown;
      const spec = this.#spec;
      const onOutput = (stream: "stdout" | "stderr", chunk: Uint8Array) => {
        const wait = relay.onOutput(stream, chunk);
        this.#tellWaiters();
        return wait;
      };
      const adopted = this.#adopted;
      this.#adopted = undefined;
      try {
        if (adopted !== undefined) {
          this.#running = adopted.run.running;
          if (adopted.record.ready) this.#readiness.said(adopted.record.startedAt);
        } else this.#running = await this.#transport.start(spec, onOutput, abort.signal);
      } catch (error) {
        startError = error;
      } finally {
        this.#startAbort = undefined;
      }
      if (this.#running !== undefined) {
        const running = this.#running;
        this.#startedAt = adopted?.record.startedAt ?? Date.now();
        this.#runs++;
        if (this.#state === "starting") this.#state = "running";
        if (abort.signal.aborted) {
          // stop() came while the transport's start() had resolved but before we saw it
          this.#state = "stopping";
          this.#terminate(this.#stopGraceMs ?? this.#set.graceMs);
        }
        this.#tellWaiters();
        if (adopted !== undefined) {
          const at = new Date(adopted.record.startedAt).toISOString();
          this.#log("info", `adopted (pid ${running.pid}, running since ${at})`);
          adopted.run.output(onOutput); // what it printed while no master wrote it, then the rest
        } else this.#log("info", `started (pid ${running.pid})`);
        if (this.#events.instanceStarted !== undefined) {
          emit(this.#events, { kind: "instanceStarted", instance: this.info(), pid: running.pid });
        }
        // regrouped while it was starting: it was started with the count of then
        if (this.#spec.groupCount !== spec.groupCount) {
          tellGroupCount(running, this.#spec.groupCount);
        }
        this.#becameReady();
        this.#armReadyTimer();
        status = await running.status;
        this.#readiness.disarm();
        relay.flush();
        if (this.#killTimer !== undefined) clearTimeout(this.#killTimer);
        this.#killTimer = undefined;
      }
      const next = this.#afterRun(status, startError, abort.signal.aborted);
      this.#running = undefined;
      if (next === undefined) return;
      this.#state = "restarting";
      const wait = new AbortController();
      this.#restartWait = wait;
      try {
        await delay(next, { signal: wait.signal });
      } catch {
        return; // cancelled: stopped while waiting, or started afresh
      } finally {
        if (this.#restartWait === wait) this.#restartWait = undefined;
      }
    }
  }

  /** Applies the restart policy to the run that just ended: a restart delay in ms, or undefined when done. */
  #afterRun(
    status: ExitStatus | undefined,
    startError: unknown,
    aborted: boolean,
  ): number | undefined {
    const relay = this.#relay;
    const d = decide(
      {
        status,
        startError,
        aborted,
        requested: this.#reason,
        endedCleanly: relay?.ended ?? false,
        startedAt: this.#startedAt,
        lastLines: () => relay?.tailLines() ?? [],
      },
      this.#counters,
      { settings: this.#set, now: Date.now() },
    );
    this.#counters = d.counters;
    this.#lastReason = d.reason;
    for (const { level, message, context } of d.logs) this.#log(level, message, context);
    emit(this.#events, {
      kind: "instanceStopped",
      instance: this.info(),
      reason: d.reason,
      code: d.code,
      signal: d.signal,
      willRestart: d.delay !== undefined,
    });
    if (d.delay === undefined) this.#setDone(d.final);
    return d.delay;
  }
}

/** Tells a running instance its group's new size: a `groupCount` line on its stdin. */
function tellGroupCount(running: RunningInstance, groupCount: number): void {
  running.send(encodeMasterMessage({ v: 1, t: "groupCount", groupCount }));
}
