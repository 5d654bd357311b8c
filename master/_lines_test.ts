import assert from "node:assert/strict";
import { LineSplitter, MAX_LINE } from "./_lines.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feeds `chunks`, then flushes; returns each line as [bytes, cut]. */
function splitBytes(chunks: (string | Uint8Array)[], max?: number): [Uint8Array, boolean][] {
  const out: [Uint8Array, boolean][] = [];
  const s = new LineSplitter((buf, start, end, cut) => out.push([buf.slice(start, end), cut]), max);
  for (const c of chunks) s.push(typeof c === "string" ? enc.encode(c) : c);
  s.flush();
  return out;
}

function split(chunks: (string | Uint8Array)[], max?: number): [string, boolean][] {
  return splitBytes(chunks, max).map(([b, cut]) => [dec.decode(b), cut]);
}

Deno.test("LineSplitter joins lines across chunk boundaries", () => {
  assert.deepEqual(split(["ab", "c\nde", "f\n", "\n", "g"]), [
    ["abc", false],
    ["def", false],
    ["", false],
    ["g", false],
  ]);
  assert.deepEqual(split(["a", "b", "c", "\n"]), [["abc", false]]);
});

Deno.test("LineSplitter gives every line of one chunk, in order", () => {
  const want = Array.from({ length: 1000 }, (_, i) => `l${i}`);
  assert.deepEqual(split([want.join("\n") + "\n"]).map(([l]) => l), want);
});

Deno.test("LineSplitter drops the \\r of CRLF, also when \\r and \\n are in different chunks", () => {
  assert.deepEqual(split(["a\r\nb\r", "\nc\r\n"]).map(([l]) => l), ["a", "b", "c"]);
  assert.deepEqual(split(["x\r", "\n"]).map(([l]) => l), ["x"]);
  assert.deepEqual(split(["a\rb\n"]).map(([l]) => l), ["a\rb"], "a lone \\r inside is kept");
});

Deno.test("LineSplitter keeps a UTF-8 sequence split across chunks whole", () => {
  const bytes = enc.encode("é✓😀\n");
  for (let i = 1; i < bytes.length; i++) {
    for (let j = i; j < bytes.length; j++) {
      const got = split([bytes.slice(0, i), bytes.slice(i, j), bytes.slice(j)]);
      assert.deepEqual(got, [["é✓😀", false]], `split at ${i},${j}`);
    }
  }
});

Deno.test("LineSplitter hands invalid UTF-8 over byte for byte without losing lines", () => {
  const bad = new Uint8Array([0x61, 0xff, 0xfe, 0x0a, 0xc3, 0x0a, 0x62, 0x0a]);
  assert.deepEqual(splitBytes([bad]), [
    [new Uint8Array([0x61, 0xff, 0xfe]), false],
    [new Uint8Array([0xc3]), false],
    [new Uint8Array([0x62]), false],
  ]);
  assert.deepEqual(splitBytes([new Uint8Array([0x63, 0xe2, 0x9c])]), [
    [new Uint8Array([0x63, 0xe2, 0x9c]), false],
  ]);
});

Deno.test("LineSplitter flushes a last line without newline, and nothing for an empty end", () => {
  assert.deepEqual(split(["a\nlast"]), [["a", false], ["last", false]]);
  assert.deepEqual(split(["a\n", "la", "st"]), [["a", false], ["last", false]]);
  assert.deepEqual(split(["a\n"]), [["a", false]]);
  assert.deepEqual(split([]), []);
});

Deno.test("LineSplitter cuts a long line once and resumes at the next line", () => {
  assert.deepEqual(split(["x".repeat(25) + "\nok\n"], 10), [["x".repeat(10), true], ["ok", false]]);
  const chunks = [...Array.from({ length: 25 }, () => "y"), "\nok\n"];
  assert.deepEqual(split(chunks, 10), [["y".repeat(10), true], ["ok", false]]);
  assert.deepEqual(split(["z".repeat(10) + "\n"], 10), [["z".repeat(10), false]]);
  assert.deepEqual(split(["z".repeat(10) + "\r\n"], 10), [["z".repeat(10), false]]);
});

Deno.test("LineSplitter does not cut a line of exactly maxLine bytes whose CRLF comes in the next chunk", () => {
  // same line as above ("z" × max + CRLF), only the chunking differs
  assert.deepEqual(split(["z".repeat(10), "\r\n", "next\n"], 10), [
    ["z".repeat(10), false],
    ["next", false],
  ]);
});

Deno.test("LineSplitter cuts a long unterminated line at the end of the stream", () => {
  assert.deepEqual(split(["a\n", "b".repeat(30)], 10), [["a", false], ["b".repeat(10), true]]);
  assert.deepEqual(split(["a\n", "b".repeat(6), "b".repeat(6)], 10), [
    ["a", false],
    ["b".repeat(10), true],
  ]);
});

Deno.test("LineSplitter keeps memory bounded on a 200 MB line without newline", () => {
  const lines: [string, boolean][] = [];
  const s = new LineSplitter((buf, start, end, cut) =>
    lines.push([dec.decode(buf.subarray(start, end)), cut])
  );
  const chunk = enc.encode("q".repeat(64 * 1024));
  const before = Deno.memoryUsage().heapUsed;
  let peak = 0;
  for (let i = 0; i < 3200; i++) {
    s.push(chunk);
    if (i % 100 === 0) peak = Math.max(peak, Deno.memoryUsage().heapUsed - before);
  }
  assert.ok(peak < 64 * 1024 * 1024, `heap grew by ${peak} bytes for a 200 MB line`);
  s.push(enc.encode("\nnext\n"));
  s.flush();
  assert.equal(lines.length, 2);
  assert.equal(lines[0]![0].length, MAX_LINE);
  assert.equal(lines[0]![1], true);
  assert.deepEqual(lines[1], ["next", false]);
});
