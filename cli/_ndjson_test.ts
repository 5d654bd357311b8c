import { deepStrictEqual as eq, ok, rejects } from "node:assert/strict";
import { JsonLineWriter, LineTooLongError, readJsonLines, readLines } from "./_ndjson.ts";

function streamOf(...chunks: string[]): ReadableStream<Uint8Array> {
  const enc = new TextEncoder();
  return ReadableStream.from(chunks.map((c) => enc.encode(c)));
}

Deno.test("readJsonLines() joins lines split across chunks and skips blank ones", async () => {
  const out = [];
  for await (const v of readJsonLines(streamOf('{"a":', "1}\n\n[2", ']\n"x"'))) out.push(v);
  eq(out, [{ a: 1 }, [2], "x"]);
});

Deno.test("JsonLineWriter writes whole lines in order", async () => {
  const chunks: string[] = [];
  const w = new JsonLineWriter({
    write(p) {
      chunks.push(new TextDecoder().decode(p));
      return Promise.resolve(p.length);
    },
  });
  void w.send({ a: 1 });
  await w.send("b");
  eq(chunks.join(""), '{"a":1}\n"b"\n');
  eq(w.pending, 0);
});

Deno.test("JsonLineWriter marks itself failed when the peer is gone", async () => {
  const w = new JsonLineWriter({ write: () => Promise.reject(new Error("EPIPE")) });
  await w.send(1);
  eq(w.failed, true);
});

Deno.test("readLines() refuses a line longer than maxLine as soon as it sees it", async () => {
  let pulled = 0;
  const mib = new Uint8Array(1 << 20).fill(0x61);
  const endless = new ReadableStream<Uint8Array>({
    pull(c) {
      pulled++;
      c.enqueue(mib);
    },
  });
  const lines = readLines(endless, { maxLine: 3 << 20 });
  await rejects(() => lines.next(), LineTooLongError);
  ok(pulled <= 5, `read ${pulled} MiB`);
});

Deno.test("readLines() yields byte lines, the last one without a newline", async () => {
  const out = [];
  for await (const l of readLines(streamOf("ab\nc", "d\n\ne"))) {
    out.push(new TextDecoder().decode(l));
  }
  eq(out, ["ab", "cd", "", "e"]);
});

Deno.test("JsonLineWriter counts the bytes it has not written yet", async () => {
  let release = () => {};
  const gate = new Promise<void>((r) => release = r);
  const w = new JsonLineWriter({ write: (p) => gate.then(() => p.length) });
  void w.send("abc");
  void w.send("de");
  eq(w.pendingBytes, 11); // "abc"\n "de"\n
  release();
  await w.drain();
  eq(w.pendingBytes, 0);
});

Deno.test("JsonLineWriter.drainUnlessStalled() waits for a slow reader, not for a stopped one", async () => {
  const slow = new JsonLineWriter({
    write: (p) => new Promise((r) => setTimeout(() => r(Math.min(p.length, 2)), 20)),
  });
  void slow.send("abcdefgh"); // 11 bytes, 2 every 20 ms: 120 ms in all, never 50 ms without progress
  eq(await slow.drainUnlessStalled(50), true);
  const stopped = new JsonLineWriter({ write: () => new Promise<number>(() => {}) });
  void stopped.send("x");
  const t0 = Date.now();
  eq(await stopped.drainUnlessStalled(50), false);
  ok(Date.now() - t0 < 1000);
});
