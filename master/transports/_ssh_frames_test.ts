import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { encodeFrame } from "../../protocol/agent.ts";
import { FrameReader } from "./_ssh_frames.ts";

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

const frames = [
  encodeFrame(1, 7, new Uint8Array([104, 105])),
  encodeFrame(2, 8, new Uint8Array(0)),
  encodeFrame(3, 0, new Uint8Array(70_000).fill(120)),
  encodeFrame(1, 4_000_000_000, new Uint8Array([1, 2, 3])),
  encodeFrame(2, 9, new Uint8Array(600_000).fill(121)),
  encodeFrame(1, 5, new Uint8Array([122])),
];
const want = [
  "1/7/2/104",
  "2/8/0/-",
  "3/0/70000/120",
  "1/4000000000/3/1",
  "2/9/600000/121",
  "1/5/1/122",
];

Deno.test("FrameReader: frames come out whole and in order, however the stream is cut", () => {
  const stream = concat(frames);
  for (const cut of [1, 2, 5, 9, 10, 4096, 65536, 100_000, stream.length]) {
    const got: string[] = [];
    const r = new FrameReader((kind, key, payload) =>
      void got.push(`${kind}/${key}/${payload.length}/${payload[0] ?? "-"}`)
    );
    for (let i = 0; i < stream.length; i += cut) r.push(stream.slice(i, i + cut));
    assertEquals(got, want, `cut ${cut}`);
    assertEquals(r.pending, 0);
  }
});

Deno.test("FrameReader: skips what comes before the magic, handing it to onPreamble", () => {
  const enc = new TextEncoder();
  const magic = enc.encode("MAGIC/1\n");
  const noise = enc.encode("motd line\nDISTARCH-MISSING/1\n".repeat(5000));
  const stream = concat([noise, magic, ...frames]);
  for (const cut of [1, 3, 4096, 65536, stream.length]) {
    const got: string[] = [];
    const pre: Uint8Array[] = [];
    const r = new FrameReader(
      (kind, key, payload) =>
        void got.push(`${kind}/${key}/${payload.length}/${payload[0] ?? "-"}`),
      { magic, onPreamble: (b) => pre.push(b) },
    );
    for (let i = 0; i < stream.length; i += cut) r.push(stream.slice(i, i + cut));
    assertEquals(got, want, `cut ${cut}`);
    assertEquals(concat(pre), noise, `cut ${cut}`);
  }
  // no magic at all: end() hands over the tail too
  const pre: Uint8Array[] = [];
  const r = new FrameReader(() => {}, { magic, onPreamble: (b) => pre.push(b) });
  r.push(noise);
  r.end();
  assertEquals(concat(pre), noise);
});

Deno.test("FrameReader: pump() reads a byte stream with BYOB reads into its one buffer", async () => {
  const stream = concat([new TextEncoder().encode("M\n"), ...frames]);
  let at = 0;
  const source = new ReadableStream({
    type: "bytes",
    pull(c: ReadableByteStreamController) {
      const req = c.byobRequest!;
      const view = req.view as Uint8Array;
      const n = Math.min(view.length, 50_000, stream.length - at);
      if (n === 0) {
        c.close();
        req.respond(0);
        return;
      }
      view.set(stream.subarray(at, at + n));
      at += n;
      req.respond(n);
    },
  });
  const got: string[] = [];
  const r = new FrameReader(
    (kind, key, p) => void got.push(`${kind}/${key}/${p.length}/${p[0] ?? "-"}`),
    { magic: new TextEncoder().encode("M\n"), size: 1024 },
  );
  await r.pump(source);
  assertEquals(got, want);
});

Deno.test("FrameReader: pump() stops when its signal aborts, though the stream stays open", async () => {
  let cancelled = false;
  const source = new ReadableStream({
    type: "bytes",
    pull() {
      return new Promise(() => {}); // nothing ever comes, nothing ends
    },
    cancel() {
      cancelled = true;
    },
  });
  const got: number[] = [];
  const r = new FrameReader((_kind, key) => void got.push(key));
  const abort = new AbortController();
  const pumping = r.pump(source, undefined, abort.signal);
  await new Promise((resolve) => setTimeout(resolve, 50));
  abort.abort();
  await pumping;
  assert(cancelled, "the stream was cancelled");
  assertEquals(got, []);
});
