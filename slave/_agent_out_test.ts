import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { FrameDecoder } from "../protocol/agent.ts";
import { BatchWriter } from "./_agent_out.ts";

Deno.test("BatchWriter: frames pushed during slow writes come out whole, in order, in few batches", async () => {
  const written: Uint8Array[] = [];
  let writes = 0;
  const out = new BatchWriter(async (bytes) => {
    writes++;
    const copy = bytes.slice();
    await new Promise((r) => setTimeout(r, 2));
    // the batch must not change while it is being written
    assertEquals(bytes, copy);
    written.push(copy);
  }, (e) => assert(false, String(e)));
  out.push(new TextEncoder().encode("MAGIC\n"));
  const chunk = new Uint8Array(1000);
  for (let i = 0; i < 2000; i++) {
    chunk.fill(i % 251); // the caller reuses its chunk: the writer must have copied it
    out.pushFrame(1 + (i % 2), i, chunk.subarray(0, i % 1000));
    if (i % 100 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  await out.flush();
  assertEquals(out.queued, 0);
  const all = new Uint8Array(written.reduce((n, w) => n + w.length, 0));
  let at = 0;
  for (const w of written) {
    all.set(w, at);
    at += w.length;
  }
  assertEquals(new TextDecoder().decode(all.subarray(0, 6)), "MAGIC\n");
  const frames = [...new FrameDecoder().push(all.subarray(6))];
  assertEquals(frames.length, 2000);
  for (const [i, f] of frames.entries()) {
    assertEquals([f.kind, f.key, f.payload.length], [1 + (i % 2), i, i % 1000]);
    assert(f.payload.every((b) => b === i % 251), `frame ${i}`);
  }
  assert(writes < 200, `${writes} writes for 2000 frames`);
});

Deno.test("BatchWriter: a failed write is reported once and later frames are dropped", async () => {
  const errors: unknown[] = [];
  const out = new BatchWriter(() => Promise.reject(new Error("EPIPE")), (e) => errors.push(e));
  out.pushFrame(1, 1, new Uint8Array(10));
  await out.flush();
  out.pushFrame(1, 2, new Uint8Array(10));
  await out.flush();
  assert(out.broken);
  assertEquals(errors.length, 1);
});
