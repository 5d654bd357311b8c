import assert from "node:assert/strict";
import { LineSplitter, MAX_LINE, utf8Cut } from "./_lines.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** `false` for a whole line, else the part: `"1"`, `"2"`, `"3 last"`. */
type Part = false | string;

function partOf(part: number, last: boolean): Part {
  return part === 0 ? false : last ? `${part} last` : String(part);
}

/** Feeds `chunks`, then flushes; returns each line as [bytes, part]. */
function splitBytes(chunks: (string | Uint8Array)[], max?: number): [Uint8Array, Part][] {
  const out: [Uint8Array, Part][] = [];
  const s = new LineSplitter(
    (buf, start, end, part, last) => out.push([buf.slice(start, end), partOf(part, last)]),
    max,
  );
  for (const c of chunks) s.push(typeof c === "string" ? enc.encode(c) : c);
  s.flush();
  return out;
}

function split(chunks: (string | Uint8Array)[], max?: number): [string, Part][] {
  return splitBytes(chunks, max).map(([b, part]) => [dec.decode(b), part]);
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

Deno.test("LineSplitter splits a long line into parts, drops nothing, resumes at the next line", () => {
  const x = "x".repeat(25);
  const want: [string, Part][] = [
    ["x".repeat(10), "1"],
    ["x".repeat(10), "2"],
    ["x".repeat(5), "3 last"],
    ["ok", false],
  ];
  assert.deepEqual(split([x + "\nok\n"], 10), want);
  assert.deepEqual(split([...Array.from({ length: 25 }, () => "x"), "\nok\n"], 10), want);
  assert.deepEqual(split([x.slice(0, 7), x.slice(7) + "\r", "\nok\n"], 10), want);
  assert.deepEqual(split(["z".repeat(10) + "\n"], 10), [["z".repeat(10), false]]);
  assert.deepEqual(split(["z".repeat(10) + "\r\n"], 10), [["z".repeat(10), false]]);
  assert.deepEqual(split(["z".repeat(11) + "\n"], 10), [["z".repeat(10), "1"], ["z", "2 last"]]);
});

Deno.test("LineSplitter does not cut a line of exactly maxLine bytes whose CRLF comes in the next chunk", () => {
  // same line as above ("z" × max + CRLF), only the chunking differs
  assert.deepEqual(split(["z".repeat(10), "\r\n", "next\n"], 10), [
    ["z".repeat(10), false],
    ["next", false],
  ]);
});

Deno.test("LineSplitter splits a long unterminated line at the end of the stream too", () => {
  assert.deepEqual(split(["a\n", "b".repeat(25)], 10), [
    ["a", false],
    ["b".repeat(10), "1"],
    ["b".repeat(10), "2"],
    ["b".repeat(5), "3 last"],
  ]);
});

Deno.test("LineSplitter cuts parts between UTF-8 characters", () => {
  const line = "aé✓😀".repeat(20); // 1 + 2 + 3 + 4 bytes
  for (const max of [4, 5, 6, 7, 9, 10, 11]) {
    const parts = split([line + "\n"], max);
    assert.equal(parts.map(([t]) => t).join(""), line, `max ${max}`);
    for (const [t] of parts) assert.ok(!t.includes("\ufffd") && enc.encode(t).length <= max);
  }
  const b = enc.encode("ab😀");
  assert.equal(utf8Cut(b, 6), 6);
  assert.equal(utf8Cut(b, 5), 2);
  assert.equal(utf8Cut(b, 3), 2);
  assert.equal(utf8Cut(new Uint8Array([0xff, 0xff, 0xff, 0xff]), 4), 4);
});

Deno.test("LineSplitter keeps memory bounded on a 200 MB line without newline, and drops none of it", () => {
  let parts = 0;
  let bytes = 0;
  const lines: [string, Part][] = [];
  const s = new LineSplitter((buf, start, end, part, last) => {
    if (part > 0 && !last) {
      parts++;
      bytes += end - start;
      assert.equal(end - start, MAX_LINE);
    } else lines.push([dec.decode(buf.subarray(start, end)), partOf(part, last)]);
  });
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
  assert.equal(parts, 3199);
  assert.equal(bytes + lines[0]![0].length, 3200 * 64 * 1024);
  assert.deepEqual(lines, [["q".repeat(MAX_LINE), "3200 last"], ["next", false]]);
});
