import assert from "node:assert/strict";
import { tryWriteAll, tryWriteAllSync, writeAll, writeAllSync } from "./write_all.ts";

/** A writer taking at most `step` bytes a call, throwing once it holds `limit`. */
function writer(step: number, limit = Infinity) {
  const got: number[] = [];
  return {
    got,
    writeSync(p: Uint8Array): number {
      if (got.length >= limit) throw new Error("closed");
      const n = Math.min(step, p.length, limit - got.length);
      got.push(...p.subarray(0, n));
      return n;
    },
  };
}

Deno.test("writeAllSync() loops over partial writes until every byte is written", () => {
  const w = writer(3);
  writeAllSync(w, Uint8Array.from([1, 2, 3, 4, 5, 6, 7]));
  assert.deepEqual(w.got, [1, 2, 3, 4, 5, 6, 7]);
});

Deno.test("tryWriteAllSync() reports the bytes written before the writer threw", () => {
  const w = writer(2, 5);
  const r = tryWriteAllSync(w, Uint8Array.from([1, 2, 3, 4, 5, 6, 7]));
  assert.equal(r.written, 5);
  assert.equal((r.error as Error).message, "closed");
  assert.throws(() => writeAllSync(writer(2, 1), new Uint8Array(3)), /closed/);
});

Deno.test("tryWriteAllSync() of nothing writes nothing and does not call the writer", () => {
  assert.deepEqual(tryWriteAllSync(writer(1, 0), new Uint8Array(0)), { written: 0 });
});

Deno.test("writeAll() and tryWriteAll() do the same for async writers", async () => {
  const w = writer(3);
  const async = { write: (p: Uint8Array) => Promise.resolve(w.writeSync(p)) };
  await writeAll(async, Uint8Array.from([1, 2, 3, 4, 5]));
  assert.deepEqual(w.got, [1, 2, 3, 4, 5]);
  const broken = writer(2, 3);
  const r = await tryWriteAll(
    { write: (p) => Promise.resolve().then(() => broken.writeSync(p)) },
    new Uint8Array(6),
  );
  assert.equal(r.written, 3);
  assert.equal((r.error as Error).message, "closed");
  await assert.rejects(
    writeAll({ write: () => Promise.reject(new Error("gone")) }, new Uint8Array(1)),
    /gone/,
  );
});
