import assert from "node:assert/strict";
import { delay } from "../_shared/delay.ts";
import { RunReadiness } from "./_instance_ready.ts";

Deno.test("RunReadiness.tell() is true once per run, and newRun() forgets what was said and told", () => {
  const r = new RunReadiness();
  r.said(5);
  assert.equal(r.saidAt, 5);
  assert.equal(r.tell(), true);
  assert.equal(r.tell(), false, "told once per run");
  r.newRun();
  assert.equal(r.saidAt, undefined);
  assert.equal(r.tell(), true);
});

Deno.test("RunReadiness.arm() calls back after its delay, unless tell() or disarm() comes first", async () => {
  const r = new RunReadiness();
  let fired = 0;
  r.arm(10, () => fired++);
  await delay(50);
  assert.equal(fired, 1);
  r.arm(10, () => fired++);
  r.disarm();
  r.newRun();
  r.arm(10, () => fired++);
  r.tell();
  await delay(50);
  assert.equal(fired, 1);
});

Deno.test("RunReadiness is the Waiters of the instance's readiness", async () => {
  const r = new RunReadiness();
  const waiting = r.wait();
  assert.equal(r.size, 1);
  r.resolveAll();
  await waiting;
  assert.equal(r.size, 0);
});
