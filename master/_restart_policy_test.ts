import assert from "node:assert/strict";
import {
  decide,
  type Decision,
  NO_RUNS,
  type RestartCounters,
  type RestartSettings,
  type RunOutcome,
} from "./_restart_policy.ts";
import type { StopReason } from "./events.ts";
import { StartError } from "./transports/types.ts";

const SETTINGS: RestartSettings = {
  restart: "on-failure",
  maxRestarts: 5,
  maxProcessTimeouts: 3,
  backoffInitialMs: 1000,
  backoffMaxMs: 60_000,
  backoffResetMs: 30_000,
};

/** A tiny fake clock: `now` moves only when told. */
class FakeClock {
  now = 1_000_000;
  tick(ms: number): void {
    this.now += ms;
  }
}

type Run =
  | { exit: number; signal?: string; after: number; cleanEnd?: boolean; lines?: string[] }
  | { lost: string; after: number }
  | { startError: unknown }
  | { requested: StopReason; exit?: number; signal?: string; after?: number };

/** One instance's life under the policy: runs follow each other on a fake clock. */
class Life {
  readonly clock = new FakeClock();
  counters: RestartCounters = NO_RUNS;
  startedAt: number | undefined;
  readonly settings: RestartSettings;
  readonly random: () => number;
  constructor(settings: Partial<RestartSettings> = {}, random = () => 1) {
    this.settings = { ...SETTINGS, ...settings };
    this.random = random;
  }

  /** Runs once: starts now, lasts `after` ms, ends as told; then waits the restart delay. */
  run(r: Run): Decision {
    let outcome: RunOutcome;
    const base = { aborted: false, requested: undefined, endedCleanly: false };
    const noLines = () => assert.fail("the last lines are asked only after a crash");
    if ("startError" in r) {
      outcome = {
        ...base,
        status: undefined,
        startError: r.startError,
        startedAt: this.startedAt,
        lastLines: noLines,
      };
    } else {
      this.startedAt = this.clock.now;
      this.clock.tick(r.after ?? 0);
      if ("lost" in r) {
        outcome = {
          ...base,
          status: { code: 255, signal: null, lost: r.lost },
          startedAt: this.startedAt,
          lastLines: noLines,
        };
      } else if ("requested" in r) {
        outcome = {
          ...base,
          requested: r.requested,
          status: { code: r.exit ?? 143, signal: r.signal ?? null },
          startedAt: this.startedAt,
          lastLines: noLines,
        };
      } else {
        outcome = {
          ...base,
          endedCleanly: r.cleanEnd ?? false,
          status: { code: r.exit, signal: r.signal ?? null },
          startedAt: this.startedAt,
          lastLines: () => r.lines ?? [],
        };
      }
    }
    const d = decide(outcome, this.counters, {
      settings: this.settings,
      now: this.clock.now,
      random: this.random,
    });
    this.counters = d.counters;
    if (d.delay !== undefined) this.clock.tick(d.delay);
    return d;
  }

  /** The liveness check found it hung (the count the policy reads). */
  hung(): void {
    this.counters = { ...this.counters, timeouts: this.counters.timeouts + 1 };
  }
}

const messages = (d: Decision) => d.logs.map((l) => `${l.level}: ${l.message}`);

Deno.test("decide(): a clean end rests as ended, except under restart: always", () => {
  for (const restart of ["on-failure", "never"] as const) {
    const d = new Life({ restart }).run({ exit: 0, after: 100 });
    assert.deepEqual([d.reason, d.delay, d.final], ["ended", undefined, "ended"], restart);
    assert.deepEqual(messages(d), ["info: ended (exit code 0)"]);
    assert.equal(d.counters.restarts, 0);
  }
  const always = new Life({ restart: "always" });
  const d = always.run({ exit: 0, after: 100 });
  assert.deepEqual([d.reason, d.delay], ["ended", 1000]);
  assert.equal(d.counters.restarts, 0, "a restart after a clean end is not counted");
  assert.equal(always.run({ exit: 0, after: 100 }).delay, 2000, "short clean runs back off");
  assert.equal(always.run({ exit: 0, after: 30_000 }).delay, 1000, "a long one resets");
});

Deno.test("decide(): the worker's `ended` message makes any exit code a clean end", () => {
  const d = new Life().run({ exit: 3, after: 10, cleanEnd: true });
  assert.deepEqual([d.reason, d.final, messages(d)], ["ended", "ended", [
    "info: ended (exit code 3)",
  ]]);
});

Deno.test("decide(): crashes back off, doubling up to the cap", () => {
  const life = new Life({ backoffMaxMs: 5000, maxRestarts: 10 });
  const delays = [1, 2, 3, 4, 5].map(() => life.run({ exit: 1, after: 100 }).delay);
  assert.deepEqual(delays, [1000, 2000, 4000, 5000, 5000]);
  assert.deepEqual(life.counters, { restarts: 5, failures: 5, short: 5, timeouts: 0 });
  const d = life.run({ exit: 1, signal: "SIGSEGV", after: 100, lines: ["boom"] });
  assert.deepEqual(d.logs, [
    { level: "error", message: "crashed (killed by SIGSEGV)", context: { lastLines: ["boom"] } },
    { level: "notice", message: "restarting in 5.0 s (failure 6)" },
  ]);
});

Deno.test("decide(): the jitter keeps each delay within 50–100 % of its step", () => {
  for (const [random, want] of [[0, 2000], [0.5, 3000], [0.999, 3998]] as const) {
    const life = new Life({}, () => random);
    life.run({ exit: 1, after: 10 });
    life.run({ exit: 1, after: 10 });
    assert.equal(life.run({ exit: 1, after: 10 }).delay, want, `random ${random}`);
  }
});

Deno.test("decide(): maxRestarts restarts, then given up on the (maxRestarts+1)th failed run", () => {
  const life = new Life({ maxRestarts: 2 });
  assert.equal(life.run({ exit: 1, after: 10 }).delay, 1000);
  assert.equal(life.run({ exit: 1, after: 10 }).delay, 2000);
  const d = life.run({ exit: 2, after: 10 });
  assert.deepEqual([d.reason, d.delay, d.final], ["crashed", undefined, "failed"]);
  assert.deepEqual(messages(d), [
    "error: crashed (exit code 2)",
    "error: given up after 2 restarts (3 failed runs in a row; last: exit code 2)",
  ]);
  assert.equal(d.counters.restarts, 2);

  const none = new Life({ maxRestarts: 0 }).run({ exit: 1, after: 10 });
  assert.equal(none.final, "failed");
  assert.equal(
    messages(none)[1],
    "error: given up after 0 restarts (1 failed run in a row; last: exit code 1)",
  );
});

Deno.test("decide(): restart: never gives up on the first failure without a give-up line", () => {
  const d = new Life({ restart: "never" }).run({ exit: 1, after: 10 });
  assert.deepEqual([d.final, d.delay, messages(d)], ["failed", undefined, [
    "error: crashed (exit code 1)",
  ]]);
});

Deno.test("decide(): a run shorter than backoffReset counts toward backoff, whatever its end", () => {
  const life = new Life({ restart: "always" });
  assert.equal(life.run({ exit: 1, after: 10 }).delay, 1000);
  assert.equal(life.run({ exit: 0, after: 10 }).delay, 2000, "a short clean run steps up");
  const d = life.run({ exit: 1, after: 10 });
  assert.equal(d.delay, 4000);
  assert.deepEqual(d.counters, { restarts: 2, failures: 2, short: 3, timeouts: 0 });
  assert.equal(messages(d)[1], "notice: restarting in 4.0 s (failure 2)");
});

Deno.test("decide(): a run that lasted backoffReset resets the failure, backoff and hang counts", () => {
  const life = new Life({ maxRestarts: 2 });
  life.run({ exit: 1, after: 10 });
  life.run({ exit: 1, after: 10 });
  life.hung();
  const d = life.run({ exit: 1, after: 29_999 + 1 });
  assert.equal(d.delay, 1000);
  assert.deepEqual(d.counters, { restarts: 3, failures: 1, short: 1, timeouts: 0 });
  assert.equal(messages(d)[1], "notice: restarting in 1.0 s (failure 1)");
  const short = new Life({ maxRestarts: 2 });
  short.run({ exit: 1, after: 10 });
  short.run({ exit: 1, after: 10 });
  assert.equal(short.run({ exit: 1, after: 29_999 }).final, "failed", "29.999 s is not enough");
});

Deno.test("decide(): a hang restarts at once, and is given up after maxProcessTimeouts in a row", () => {
  const life = new Life({ maxProcessTimeouts: 2 });
  life.hung();
  let d = life.run({ requested: "timeout", signal: "SIGTERM", after: 60_000 });
  assert.deepEqual([d.reason, d.delay, d.logs], ["timeout", 0, []]);
  assert.deepEqual(d.counters, { restarts: 1, failures: 0, short: 0, timeouts: 1 });
  life.hung();
  d = life.run({ requested: "timeout", signal: "SIGKILL", after: 60_000 });
  assert.deepEqual([d.reason, d.delay, d.final], ["timeout", undefined, "failed"]);
  assert.deepEqual(messages(d), ["error: given up: hung 2 times in a row (killed by SIGKILL)"]);
  assert.equal(d.counters.restarts, 1);
});

Deno.test("decide(): a lost link restarts at once and is never given up nor counted", () => {
  const life = new Life({ maxRestarts: 0 });
  for (let i = 0; i < 10; i++) {
    const d = life.run({ lost: "ssh: connection reset", after: 10 });
    assert.deepEqual([d.reason, d.delay], ["lost", 0]);
    assert.deepEqual(messages(d), [
      "warning: lost: ssh: connection reset; will start it again when the host is back",
    ]);
  }
  const outage = life.run({ startError: new StartError("host down", { outage: true }) });
  assert.deepEqual([outage.reason, outage.delay, messages(outage)], ["lost", 0, [
    "warning: could not be started: host down; retrying until it is back",
  ]]);
  assert.deepEqual(life.counters, NO_RUNS);
});

Deno.test("decide(): a failed start backs off like a crash; a fatal one is given up at once", () => {
  const life = new Life({ maxRestarts: 1 });
  let d = life.run({ startError: new StartError("spawn failed") });
  assert.deepEqual([d.reason, d.delay, d.code, d.signal], ["start-failed", 1000, null, null]);
  assert.deepEqual(messages(d), [
    "error: could not be started: spawn failed",
    "notice: restarting in 1.0 s (failure 1)",
  ]);
  d = life.run({ startError: "not an Error" });
  assert.deepEqual(messages(d), [
    "error: could not be started: not an Error",
    "error: given up after 1 restart (2 failed runs in a row; last: could not be started)",
  ]);
  const fatal = new Life().run({ startError: new StartError("no deno", { fatal: true }) });
  assert.deepEqual([fatal.reason, fatal.final, fatal.delay], ["start-failed", "failed", undefined]);
  assert.deepEqual(messages(fatal), [
    "error: could not be started: no deno",
    "error: given up: this cannot work by retrying",
  ]);
});

Deno.test("decide(): a stop or suspend rests in that state, logged only when it had run", () => {
  for (const requested of ["stopped", "suspended"] as const) {
    const d = new Life().run({ requested, signal: "SIGTERM", after: 10 });
    assert.deepEqual([d.reason, d.final, d.delay], [requested, requested, undefined]);
    assert.deepEqual(messages(d), [`info: ${requested} (killed by SIGTERM)`]);
    // stopped while it was starting: no exit to tell
    const base = { status: undefined, endedCleanly: false, startedAt: undefined };
    const early = decide(
      { ...base, aborted: true, requested, lastLines: () => [] },
      NO_RUNS,
      { settings: SETTINGS, now: 0 },
    );
    assert.deepEqual([early.reason, early.final, early.logs], [requested, requested, []]);
  }
  const aborted = decide(
    {
      status: undefined,
      aborted: true,
      requested: undefined,
      endedCleanly: false,
      startedAt: undefined,
      lastLines: () => [],
    },
    NO_RUNS,
    { settings: SETTINGS, now: 0 },
  );
  assert.deepEqual([aborted.reason, aborted.final], ["stopped", "stopped"]);
});

Deno.test("decide(): a requested end wins over the exit code, and a crash log has no empty tail", () => {
  const d = new Life().run({ requested: "stopped", exit: 1, after: 10 });
  assert.deepEqual([d.reason, messages(d)], ["stopped", ["info: stopped (exit code 1)"]]);
  const crash = new Life().run({ exit: 1, after: 10, lines: [] });
  assert.deepEqual(crash.logs[0], { level: "error", message: "crashed (exit code 1)" });
});

Deno.test("decide(): a hung instance whose link was lost before our kill reached it is lost", () => {
  const d = decide(
    {
      status: { code: 143, signal: null, lost: "lease expired" },
      aborted: false,
      requested: "timeout",
      endedCleanly: false,
      startedAt: 0,
      lastLines: () => [],
    },
    { ...NO_RUNS, timeouts: 1 },
    { settings: SETTINGS, now: 1000 },
  );
  assert.deepEqual([d.reason, d.delay], ["lost", 0]);
});
