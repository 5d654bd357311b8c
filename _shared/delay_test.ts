import assert from "node:assert/strict";
import { delay } from "./delay.ts";

Deno.test("delay() resolves after the time has passed", async () => {
  const t0 = performance.now();
  await delay(20);
  assert.ok(performance.now() - t0 >= 15);
});

Deno.test("delay() rejects with the signal's reason when aborted, and leaves no timer", async () => {
  const abort = new AbortController();
  const wait = delay(60_000, { signal: abort.signal });
  const reason = new Error("stop");
  abort.abort(reason);
  await assert.rejects(wait, (e) => e === reason);
});

Deno.test("delay() rejects at once when the signal has already aborted", async () => {
  const reason = new Error("already");
  await assert.rejects(delay(60_000, { signal: AbortSignal.abort(reason) }), (e) => e === reason);
});
