import assert from "node:assert/strict";
import { ReplayBuffer } from "./_agent_replay.ts";
import { encodeFrame, FRAME } from "../protocol/agent.ts";

const frame = (n: number, size = 10) => new Uint8Array(size).fill(n);

Deno.test("ReplayBuffer replays every frame after the acknowledged one, once", () => {
  const r = new ReplayBuffer(() => 1 << 20);
  for (let i = 1; i <= 5; i++) r.add(frame(i));
  assert.equal(r.last, 5);
  r.ack(2);
  const { seq, frames, dropped } = r.since(3);
  assert.deepEqual([seq, frames.map((f) => f[0]), dropped], [3, [4, 5], 0]);
  assert.deepEqual(r.since(5), { seq: 5, frames: [], dropped: 0, lost: [] });
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

Deno.test("ReplayBuffer counts the output it drops, by instance, once", () => {
  const r = new ReplayBuffer(() => 40);
  const out = (key: number) => encodeFrame(FRAME.stdout, key, new Uint8Array(11)); // 20 bytes
  r.add(out(1));
  r.add(encodeFrame(FRAME.event, 0, new Uint8Array(11)));
  r.add(out(2));
  r.add(out(1));
  r.add(out(1));
  const { dropped, lost } = r.since(0);
  assert.deepEqual([dropped, lost], [3, [{ key: 1, chunks: 1, bytes: 11 }, {
    key: 2,
    chunks: 1,
    bytes: 11,
  }]]);
  assert.deepEqual(r.since(0).lost, []);
});

Deno.test("ReplayBuffer does not count dropped frames the re-attaching link says it received", () => {
  const r = new ReplayBuffer(() => 40);
  const out = (key: number) => encodeFrame(FRAME.stdout, key, new Uint8Array(11)); // 20 bytes
  r.add(out(1)); // 1: sent
  r.add(out(1)); // 2: sent
  r.detach(); // the link is gone after frame 2
  r.add(out(2)); // 3: drops 1
  r.add(out(2)); // 4: drops 2
  r.add(out(2)); // 5: drops 3, never sent
  const { dropped, lost, frames } = r.since(1); // the link had received frame 1 only
  assert.deepEqual([dropped, frames.length], [2, 2]);
  assert.deepEqual(lost, [{ key: 2, chunks: 1, bytes: 11 }, { key: 1, chunks: 1, bytes: 11 }]);
});
