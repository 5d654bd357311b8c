import assert from "node:assert/strict";
import { ReplayBuffer } from "./_agent_replay.ts";

const frame = (n: number, size = 10) => new Uint8Array(size).fill(n);

Deno.test("ReplayBuffer replays every frame after the acknowledged one, once", () => {
  const r = new ReplayBuffer(() => 1 << 20);
  for (let i = 1; i <= 5; i++) r.add(frame(i));
  assert.equal(r.last, 5);
  r.ack(2);
  const { seq, frames, dropped } = r.since(3);
  assert.deepEqual([seq, frames.map((f) => f[0]), dropped], [3, [4, 5], 0]);
  assert.deepEqual(r.since(5), { seq: 5, frames: [], dropped: 0 });
  r.add(frame(6));
  assert.deepEqual(r.since(5).frames.map((f) => f[0]), [6]);
});

Deno.test("ReplayBuffer drops the oldest frames past its limit and says how many", () => {
  const r = new ReplayBuffer(() => 35);
  for (let i = 1; i <= 10; i++) r.add(frame(i));
  assert.equal(r.bytes, 30);
  const { seq, frames, dropped } = r.since(2);
  assert.deepEqual([seq, frames.map((f) => f[0]), dropped], [7, [8, 9, 10], 5]);
});

Deno.test("ReplayBuffer keeps numbering across many acknowledged frames", () => {
  const r = new ReplayBuffer(() => 1 << 20);
  for (let i = 1; i <= 5000; i++) {
    r.add(frame(i % 256, 1));
    if (i % 7 === 0) r.ack(i - 3);
  }
  const { seq, frames, dropped } = r.since(4996);
  assert.deepEqual([seq, frames.length, dropped, r.last], [4996, 4, 0, 5000]);
});
