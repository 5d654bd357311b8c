import assert from "node:assert/strict";
import { ReplayBuffer, type ReplayLimits } from "./_agent_replay.ts";
import { encodeEvent, encodeFrame, FRAME } from "../protocol/agent.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const BIG = { ceiling: () => 1 << 20 };

/** An event frame about `key`. */
const ev = (key: number) => encodeEvent({ t: "started", key, pid: key });
/** A stdout frame of `key` holding `text`. */
const out = (key: number, text: string) => encodeFrame(FRAME.stdout, key, encoder.encode(text));
/** What a frame is: `e<key>` for an event, `<key>:<text>` for output. */
const show = (f: Uint8Array) => {
  const key = new DataView(f.buffer, f.byteOffset).getUint32(1);
  return f[0] === FRAME.event ? `e${key}` : `${key}:${decoder.decode(f.subarray(9))}`;
};

Deno.test("ReplayBuffer replays every frame after the acknowledged one, once", () => {
  const r = new ReplayBuffer(BIG);
  for (let i = 1; i <= 5; i++) r.add(ev(i));
  assert.equal(r.last, 5);
  r.ack(2);
  const { seq, acked, frames, dropped } = r.since(3);
  assert.deepEqual([seq, acked, frames.map(show), dropped], [3, 3, ["e4", "e5"], 0]);
  assert.deepEqual(r.since(5), { seq: 5, acked: 5, frames: [], dropped: 0, lost: [] });
  r.add(ev(6));
  assert.deepEqual(r.since(5).frames.map(show), ["e6"]);
});

Deno.test("ReplayBuffer without an ack replays after the highest one acknowledged, across links", () => {
  const r = new ReplayBuffer(BIG);
  for (let i = 1; i <= 4; i++) r.add(ev(i));
  r.ack(3);
  r.ack(2); // a late heartbeat does not take it back
  r.detach();
  r.add(ev(5));
  const first = r.since();
  assert.deepEqual([first.seq, first.acked, first.frames.map(show)], [3, 3, ["e4", "e5"]]);
  r.ack(4); // the second link acknowledged one more, then was lost too
  r.detach();
  r.add(ev(6));
  const second = r.since();
  assert.deepEqual([second.seq, second.acked, second.frames.map(show)], [4, 4, ["e5", "e6"]]);
  // an explicit ack below what was acknowledged cannot bring forgotten frames back
  assert.deepEqual([r.since(1).seq, r.since(1).acked], [4, 4]);
});

Deno.test("ReplayBuffer keeps numbering across many acknowledged frames", () => {
  const r = new ReplayBuffer(BIG);
  for (let i = 1; i <= 5000; i++) {
    r.add(out(i % 7, "x\n"));
    if (i % 7 === 0) r.ack(i - 3);
  }
  const { seq, frames, dropped } = r.since(4996);
  assert.deepEqual([seq, frames.length, dropped, r.last], [4996, 4, 0, 5000]);
});

interface BoundCase {
  name: string;
  limits: Omit<ReplayLimits, "ceiling"> & { ceiling?: number };
  /** Added in order: a number is an event of that key, a pair an output frame. */
  adds: (number | [number, string])[];
  kept: string[];
  lost: { key: number; chunks: number; bytes: number; lines: number }[];
}

const BOUND_CASES: BoundCase[] = [
  {
    name: "an instance keeps its bytes when they hold more than its lines",
    limits: { bytes: 6, lines: 1 },
    adds: [[1, "aa\n"], [1, "bb\n"], [1, "cc\n"], [1, "dd\n"]],
    kept: ["1:cc\n", "1:dd\n"],
    lost: [{ key: 1, chunks: 2, bytes: 6, lines: 2 }],
  },
  {
    name: "an instance keeps its lines when they hold more than its bytes",
    limits: { bytes: 1, lines: 3 },
    adds: [[1, "a\nb\n"], [1, "c\n"], [1, "d\ne\n"], [1, "f\n"]],
    kept: ["1:d\ne\n", "1:f\n"],
    lost: [{ key: 1, chunks: 2, bytes: 6, lines: 3 }],
  },
  {
    name: "a trailing partial line counts as one line lost",
    limits: { bytes: 1, lines: 1 },
    adds: [[1, "a\nb"], [1, "b\nc"], [1, "c\n"]],
    kept: ["1:c\n"],
    lost: [{ key: 1, chunks: 2, bytes: 6, lines: 3 }],
  },
  {
    name: "the bound is per instance: a quiet one keeps its output while another floods",
    limits: { bytes: 4, lines: 1 },
    adds: [[2, "q\n"], [1, "aaaa\n"], [1, "bbbb\n"], [1, "cccc\n"]],
    kept: ["2:q\n", "1:cccc\n"],
    lost: [{ key: 1, chunks: 2, bytes: 10, lines: 2 }],
  },
  {
    name: "events are never dropped, whatever the output around them",
    limits: { bytes: 1, lines: 1 },
    adds: [1, [1, "a\n"], 2, [1, "b\n"], 3, [1, "c\n"]],
    kept: ["e1", "e2", "e3", "1:c\n"],
    lost: [{ key: 1, chunks: 2, bytes: 4, lines: 2 }],
  },
  {
    name: "past the ceiling, the instance holding the most loses its oldest",
    limits: { bytes: 100, lines: 100, ceiling: 10 },
    adds: [[2, "qq\n"], [1, "aaa\n"], [1, "bbb\n"], [1, "ccc\n"]],
    kept: ["2:qq\n", "1:ccc\n"],
    lost: [{ key: 1, chunks: 2, bytes: 8, lines: 2 }],
  },
];

for (const c of BOUND_CASES) {
  Deno.test(`ReplayBuffer bound: ${c.name}`, () => {
    const { ceiling = 1 << 20, ...per } = c.limits;
    const r = new ReplayBuffer({ ...per, ceiling: () => ceiling });
    for (const a of c.adds) r.add(typeof a === "number" ? ev(a) : out(a[0], a[1]));
    const replay = r.since(0);
    assert.deepEqual(replay.frames.map(show), c.kept);
    assert.deepEqual(replay.lost, c.lost);
    const chunks = c.lost.reduce((n, l) => n + l.chunks, 0);
    // the kept frames close up before the last number
    assert.deepEqual([replay.dropped, replay.seq], [chunks, c.adds.length - c.kept.length]);
    assert.deepEqual(r.since(0).lost, [], "counted once");
  });
}

Deno.test("ReplayBuffer does not keep res events, and their number goes with them", () => {
  const r = new ReplayBuffer(BIG);
  r.add(ev(1));
  r.add(encodeEvent({ t: "res", time: 0, v: [[1, 1, 0, 0]] }));
  r.add(ev(2));
  const { seq, frames, dropped } = r.since(0);
  assert.deepEqual([seq, frames.map(show), dropped], [1, ["e1", "e2"], 0]);
});

Deno.test("ReplayBuffer numbers the kept frames again after dropping some from the middle", () => {
  const r = new ReplayBuffer({ bytes: 1, lines: 1, ceiling: () => 1 << 20 });
  r.add(ev(1)); // 1
  r.add(out(1, "a\n")); // 2: dropped by 4
  r.add(ev(2)); // 3
  r.add(out(1, "b\n")); // 4
  const first = r.since(0);
  assert.deepEqual([first.seq, first.frames.map(show), r.last], [1, ["e1", "e2", "1:b\n"], 4]);
  r.ack(3); // the new link received 2 (e1), 3 (e2)
  r.add(ev(3)); // 5
  assert.deepEqual(r.since(3).frames.map(show), ["1:b\n", "e3"]);
});

Deno.test("ReplayBuffer does not count dropped frames the re-attaching link says it received", () => {
  const r = new ReplayBuffer({ bytes: 1, lines: 1, ceiling: () => 1 << 20 });
  r.add(out(1, "a\n")); // 1: sent
  r.add(out(1, "b\n")); // 2: sent, drops 1
  r.detach(); // the link is gone after frame 2
  r.add(out(2, "c\n")); // 3
  r.add(out(1, "d\n")); // 4: drops 2
  r.add(out(2, "e\n")); // 5: drops 3, never sent
  const { dropped, lost, frames } = r.since(1); // the link had received frame 1 only
  assert.deepEqual([dropped, frames.map(show)], [2, ["1:d\n", "2:e\n"]]);
  assert.deepEqual(lost, [
    { key: 2, chunks: 1, bytes: 2, lines: 1 },
    { key: 1, chunks: 1, bytes: 2, lines: 1 },
  ]);
});

Deno.test("ReplayBuffer stays bounded under many tiny dropped frames", () => {
  const r = new ReplayBuffer({ bytes: 100, lines: 10, ceiling: () => 100 });
  r.add(ev(1)); // never dropped: the dropped frames after it must not pile up
  for (let i = 0; i < 200_000; i++) r.add(out(1, "x"));
  assert.equal(r.size, 101);
  const { frames, lost } = r.since(0);
  assert.deepEqual([frames.length, lost], [101, [{
    key: 1,
    chunks: 199_900,
    bytes: 199_900,
    lines: 1,
  }]]);
});
