import assert from "node:assert/strict";
import { backoffDelay } from "./backoff.ts";

Deno.test("backoffDelay doubles with each failure", () => {
  // random = 1 gives the full (un-jittered) delay
  assert.deepEqual([1, 2, 3, 4, 5].map((n) => backoffDelay(n, 100, 100_000, 1)), [
    100,
    200,
    400,
    800,
    1600,
  ]);
});

Deno.test("backoffDelay is capped at the maximum", () => {
  assert.equal(backoffDelay(10, 1000, 60_000, 1), 60_000);
  assert.equal(backoffDelay(1000, 1000, 60_000, 1), 60_000, "no overflow for huge counts");
  assert.equal(backoffDelay(3, 1000, 3000, 1), 3000);
});

Deno.test("backoffDelay jitter stays within 50–100 % of the delay", () => {
  assert.equal(backoffDelay(3, 100, 100_000, 0), 200);
  assert.equal(backoffDelay(3, 100, 100_000, 0.5), 300);
  for (let i = 0; i < 1000; i++) {
    const n = 1 + (i % 8);
    const base = Math.min(5000, 100 * 2 ** (n - 1));
    const d = backoffDelay(n, 100, 5000);
    assert.ok(d >= base / 2 && d <= base, `${d} for failure ${n} (base ${base})`);
  }
});

Deno.test("backoffDelay treats failure 0 like the first and an initial delay of 0 as none", () => {
  assert.equal(backoffDelay(0, 100, 1000, 1), 100);
  assert.equal(backoffDelay(5, 0, 1000, 1), 0);
});
