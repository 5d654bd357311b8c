import assert from "node:assert/strict";
import { Waiters } from "./_waiters.ts";

Deno.test("Waiters.resolveAll() settles every waiting promise in order, and only those", async () => {
  const w = new Waiters();
  const order: number[] = [];
  const a = w.wait().then(() => order.push(1));
  const b = w.wait().then(() => order.push(2));
  assert.equal(w.size, 2);
  w.resolveAll();
  assert.equal(w.size, 0);
  let late = false;
  const c = w.wait().then(() => late = true);
  await Promise.all([a, b]);
  assert.deepEqual(order, [1, 2]);
  assert.equal(late, false, "a promise made after resolveAll() waits for the next one");
  w.rejectAll(new Error("gone"));
  await assert.rejects(c, /gone/);
});

Deno.test("Waiters.wait() rejects with the signal's reason, at once when already aborted", async () => {
  const w = new Waiters();
  const abort = new AbortController();
  const waiting = w.wait(abort.signal);
  abort.abort(new Error("timeout"));
  await assert.rejects(waiting, /timeout/);
  assert.equal(w.size, 0);
  await assert.rejects(w.wait(AbortSignal.abort(new Error("early"))), /early/);
});
