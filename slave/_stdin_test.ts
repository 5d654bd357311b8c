import { deepEqual as assertEquals } from "node:assert/strict";
import { readMessages, StdinLines } from "./_stdin.ts";
import type { MasterMessage } from "../protocol/worker.ts";

/** A reader handing out `chunks` one read each (cut to the buffer's size), then the end. */
function chunked(...chunks: string[]) {
  const bytes = chunks.map((c) => new TextEncoder().encode(c));
  return {
    read(p: Uint8Array): Promise<number | null> {
      const next = bytes.shift();
      if (next === undefined) return Promise.resolve(null);
      const n = Math.min(p.length, next.length);
      p.set(next.subarray(0, n));
      if (n < next.length) bytes.unshift(next.subarray(n));
      return Promise.resolve(n);
    },
  };
}

Deno.test("StdinLines keeps what follows a newline in the same read for the next line", async () => {
  const lines = new StdinLines(
    new Uint8Array(64),
    chunked('{"v":1}\n{"v":1,"t":"groupCount","groupCount":4}\nno', "t json\r\n", "tail"),
  );
  assertEquals(await lines.next(), '{"v":1}');
  assertEquals(await lines.next(), '{"v":1,"t":"groupCount","groupCount":4}');
  assertEquals(await lines.next(), "not json");
  assertEquals(await lines.next(), undefined); // an unfinished last line is not a message
});

Deno.test("readMessages hands over the master's messages, skips other lines, ends with stdin", async () => {
  const got: MasterMessage[] = [];
  const lines = new StdinLines(
    new Uint8Array(8), // smaller than a line: lines span reads
    chunked(
      '{"v":1,"t":"groupCount","groupCount":4}\n',
      'garbage\n{"v":2,"t":"groupCount","groupCount":5}\n{"v":1,"t":"groupCount","groupCount":0}\n',
      '{"v":1,"t":"groupCount","groupCount":2}\n',
    ),
  );
  await readMessages(lines, (m) => got.push(m));
  assertEquals(got, [
    { v: 1, t: "groupCount", groupCount: 4 },
    { v: 1, t: "groupCount", groupCount: 2 },
  ]);
});
