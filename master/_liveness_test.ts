import assert from "node:assert/strict";
import { hungFor } from "./_liveness.ts";

/** A tiny fake clock. */
class FakeClock {
  now = 50_000;
  tick(ms: number): number {
    return this.now += ms;
  }
}

Deno.test("hungFor(): hung once silent for the whole timeout, not a millisecond before", () => {
  const clock = new FakeClock();
  const watch = { timeout: 10, lastSeen: clock.now, paused: false };
  assert.equal(hungFor(clock.tick(9_999), watch), undefined);
  assert.equal(hungFor(clock.tick(1), watch), 10_000);
  assert.equal(hungFor(clock.tick(2_500), watch), 12_500);
});

Deno.test("hungFor(): never hung without a timeout, before it started, or while paused", () => {
  const clock = new FakeClock();
  const seen = clock.now;
  clock.tick(3_600_000);
  assert.equal(hungFor(clock.now, { timeout: 0, lastSeen: seen, paused: false }), undefined);
  assert.equal(hungFor(clock.now, { timeout: -1, lastSeen: seen, paused: false }), undefined);
  assert.equal(hungFor(clock.now, { timeout: 1, lastSeen: undefined, paused: false }), undefined);
  assert.equal(hungFor(clock.now, { timeout: 1, lastSeen: seen, paused: true }), undefined);
});
