import { deepStrictEqual as eq } from "node:assert/strict";
import { JsonLineWriter, readJsonLines } from "./_ndjson.ts";

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
