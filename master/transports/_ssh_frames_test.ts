import { deepEqual as assertEquals } from "node:assert/strict";
import { encodeFrame } from "../../protocol/agent.ts";
import { FrameReader } from "./_ssh_frames.ts";

Deno.test("FrameReader: frames come out whole and in order, however the stream is cut", () => {
  const frames = [
    encodeFrame(1, 7, new Uint8Array([104, 105])),
    encodeFrame(2, 8, new Uint8Array(0)),
    encodeFrame(3, 0, new Uint8Array(70_000).fill(120)),
    encodeFrame(1, 4_000_000_000, new Uint8Array([1, 2, 3])),
  ];
  const stream = new Uint8Array(frames.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of frames) {
    stream.set(f, at);
    at += f.length;
  }
  for (const cut of [1, 2, 5, 9, 10, 4096, 65536, stream.length]) {
    const got: string[] = [];
    const r = new FrameReader((kind, key, payload) =>
      got.push(`${kind}/${key}/${payload.length}/${payload[0] ?? "-"}`)
    );
    for (let i = 0; i < stream.length; i += cut) r.push(stream.slice(i, i + cut));
    assertEquals(got, ["1/7/2/104", "2/8/0/-", "3/0/70000/120", "1/4000000000/3/1"], `cut ${cut}`);
    assertEquals(r.pending, 0);
  }
});
