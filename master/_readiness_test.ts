import { deepStrictEqual as eq } from "node:assert/strict";
import {
  type DependencyInstance,
  type Gate,
  readyAt,
  readyTimeLeft,
  startGate,
} from "./_readiness.ts";

const wait = { waitReady: true, readyTimeoutMs: 1000 };
const plain = { waitReady: false, readyTimeoutMs: 1000 };

Deno.test("readyAt(): at start without waitReady, when it said so with it", () => {
  eq(readyAt(plain, {}), undefined);
  eq(readyAt(plain, { startedAt: 10 }), 10);
  eq(readyAt(wait, { startedAt: 10 }), undefined);
  eq(readyAt(wait, { startedAt: 10, saidReadyAt: 42 }), 42);
  // a ready line from a run that has not started yet (still being spawned) counts once started
  eq(readyAt(wait, { saidReadyAt: 5 }), undefined);
});

Deno.test("readyTimeLeft(): counts from the start, only while waiting for ready", () => {
  eq(readyTimeLeft(plain, { startedAt: 0 }, 5000), undefined);
  eq(readyTimeLeft(wait, {}, 5000), undefined);
  eq(readyTimeLeft(wait, { startedAt: 0 }, 0), 1000);
  eq(readyTimeLeft(wait, { startedAt: 0 }, 999), 1);
  eq(readyTimeLeft(wait, { startedAt: 0 }, 1000), 0);
  eq(readyTimeLeft(wait, { startedAt: 0 }, 1500), -500);
  eq(readyTimeLeft(wait, { startedAt: 0, saidReadyAt: 900 }, 1500), undefined);
});

const i = (group: string, state: DependencyInstance["state"], ready = false) => ({
  group,
  state,
  ready,
});

Deno.test("startGate(): go only once every instance of every dependency is ready", () => {
  const cases: [string[], DependencyInstance[], Gate][] = [
    [[], [i("x", "starting")], { kind: "go" }],
    [["f"], [i("f", "running", true), i("f", "running", true)], { kind: "go" }],
    [["f"], [i("f", "running", true), i("f", "running", false)], { kind: "wait", on: ["f"] }],
    [["f"], [i("f", "running", true), i("f", "starting")], { kind: "wait", on: ["f"] }],
    [["f", "g"], [i("f", "running", true), i("g", "suspended")], { kind: "wait", on: ["g"] }],
    [["f"], [i("f", "ended"), i("f", "running", true)], { kind: "go" }],
    [["f"], [], { kind: "go" }],
    [["f"], [i("f", "restarting"), i("f", "pending")], { kind: "wait", on: ["f"] }],
    [
      ["f"],
      [i("f", "failed"), i("f", "running", true), i("f", "failed")],
      { kind: "blocked", dependency: "f", failed: 2, of: 3 },
    ],
  ];
  for (const [deps, instances, gate] of cases) {
    eq(startGate(deps, instances), gate, JSON.stringify([deps, instances]));
  }
});
