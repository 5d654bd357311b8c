import assert from "node:assert/strict";
import { escapeText, formatJson, formatText, isRawLogger, writerLogger } from "./log.ts";
import type { LogRecord } from "./types.ts";

const dec = new TextDecoder();
const enc = new TextEncoder();

function bufferWriter() {
  const writes: Uint8Array[] = [];
  return {
    writes,
    writeSync(p: Uint8Array) {
      writes.push(p.slice());
      return p.length;
    },
    text() {
      return writes.map((w) => dec.decode(w)).join("");
    },
  };
}

const tagged: LogRecord = {
  level: "info",
  message: "My ID : 1",
  time: Date.UTC(2024, 0, 2, 3, 4, 5, 6),
  group: "First Group",
  host: "localhost",
  instance: "script1.ts/1/1",
  id: 1,
  groupId: 1,
};

Deno.test("formatText writes the seed's line format", () => {
  assert.equal(formatText(tagged), "info - [First Group] [localhost] [script1.ts/1/1] My ID : 1");
  assert.equal(formatText({ level: "notice", message: "hello", time: 0 }), "notice - hello");
  assert.equal(
    formatText({ level: "warning", message: "m", time: 0, group: "g", context: { a: 1, b: "é" } }),
    'warning - [g] m {"a":1,"b":"é"}',
  );
});

Deno.test("formatText and formatJson survive an unserialisable context", () => {
  const context: Record<string, unknown> = { n: 1n };
  assert.match(formatText({ level: "info", message: "m", time: 0, context }), /^info - m /);
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  assert.doesNotThrow(() => formatJson({ level: "info", message: "m", time: 0, context: cyclic }));
});

Deno.test("formatJson writes one JSON object with ISO time and the tags", () => {
  const line = formatJson({ ...tagged, context: { k: [1, "x"] } });
  assert.ok(!line.includes("\n"));
  assert.deepEqual(JSON.parse(line), {
    level: "info",
    time: "2024-01-02T03:04:05.006Z",
    group: "First Group",
    host: "localhost",
    id: 1,
    groupId: 1,
    instance: "script1.ts/1/1",
    message: "My ID : 1",
    context: { k: [1, "x"] },
  });
  assert.deepEqual(JSON.parse(formatJson({ level: "error", message: "a\nb", time: 0 })), {
    level: "error",
    time: "1970-01-01T00:00:00.000Z",
    message: "a\nb",
  });
});

Deno.test("writerLogger buffers lines and writes them on flush(), in order", () => {
  const w = bufferWriter();
  const logger = writerLogger(w);
  for (let i = 0; i < 100; i++) logger.log({ level: "info", message: `line ${i}`, time: 0 });
  assert.equal(w.writes.length, 0, "nothing written before a flush");
  logger.flush();
  const want = Array.from({ length: 100 }, (_, i) => `info - line ${i}\n`).join("");
  assert.equal(w.text(), want);
  assert.equal(w.writes.length, 1, "one write for the whole buffer");
  logger.flush();
  assert.equal(w.writes.length, 1, "an empty flush writes nothing");
});

Deno.test("writerLogger flushes by itself on the next macrotask", async () => {
  const w = bufferWriter();
  const logger = writerLogger(w, { format: "json" });
  logger.log({ level: "notice", message: "soon", time: 0 });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(JSON.parse(w.text()).message, "soon");
});

Deno.test("writerLogger writes when the buffer is full, and keeps records bigger than it", () => {
  const w = bufferWriter();
  const logger = writerLogger(w, { bufferSize: 64 });
  const big = "é".repeat(1000);
  logger.log({ level: "info", message: "a", time: 0 });
  logger.log({ level: "info", message: big, time: 0 });
  logger.log({ level: "info", message: "b", time: 0 });
  logger.flush();
  assert.equal(w.text(), `info - a\ninfo - ${big}\ninfo - b\n`);
  assert.ok(w.writes.length >= 2);
});

Deno.test("writerLogger retries short writes and survives a broken writer", () => {
  const chunks: string[] = [];
  const logger = writerLogger({
    writeSync(p) {
      const n = Math.min(3, p.length);
      chunks.push(dec.decode(p.subarray(0, n)));
      return n;
    },
  });
  logger.log({ level: "info", message: "short writes", time: 0 });
  logger.flush();
  assert.equal(chunks.join(""), "info - short writes\n");
  const errors: string[] = [];
  const broken = writerLogger({
    writeSync() {
      throw new Deno.errors.BrokenPipe("gone");
    },
  }, { name: "the pipe", onError: (m) => errors.push(m) });
  broken.log({ level: "info", message: "x", time: 0 });
  assert.doesNotThrow(() => broken.flush());
  broken.log({ level: "info", message: "y", time: 0 });
  assert.doesNotThrow(() => broken.flush());
  assert.deepEqual(errors, ["cannot write to the pipe: gone; log lines are being lost"]);
  assert.deepEqual(broken.stats(), { lost: 2, dropped: 0, error: "gone" });
});

Deno.test("writerLogger's raw fast path writes the same line as log(), in order with it", () => {
  const w = bufferWriter();
  const logger = writerLogger(w);
  assert.ok(isRawLogger(logger), "the text logger has the raw fast path");
  const { message: _m, time: _t, ...tags } = tagged;
  const prefix = logger.prefix(tags);
  const bytes = enc.encode("xxMy ID : 1yy");
  logger.log({ level: "notice", message: "before", time: 0 });
  logger.raw(prefix, bytes, 2, bytes.length - 2);
  const long = enc.encode("L".repeat(100));
  logger.raw(prefix, long, 0, long.length);
  logger.log({ level: "notice", message: "after", time: 0 });
  logger.flush();
  assert.equal(
    w.text(),
    `notice - before\n${formatText(tagged)}\n${
      formatText({ ...tagged, message: "L".repeat(100) })
    }\nnotice - after\n`,
  );
  assert.equal(isRawLogger(writerLogger(w, { format: "json" })), false);
});

Deno.test("escapeText makes C0, ESC, DEL, C1 and CR visible, keeps tab and text", () => {
  assert.equal(escapeText("plain é ✓ \t tab"), "plain é ✓ \t tab");
  assert.equal(
    escapeText("\x1b]0;t\x07 \x1b]52;c;eA==\x07 \x1b[2J a\rb\nc \x7f \u009b \x00"),
    "\\x1b]0;t\\x07 \\x1b]52;c;eA==\\x07 \\x1b[2J a\\rb\\nc \\x7f \\u009b \\x00",
  );
});

Deno.test("formatText: every line tagged, controls escaped, parts marked", () => {
  const tags = { level: "error" as const, time: 0, group: "g", host: "h", instance: "w/1/1" };
  assert.equal(
    formatText({ ...tags, message: "Error: boom\r\n    at f\ninfo - [x] forged\n" }),
    "error - [g] [h] [w/1/1] Error: boom\nerror - [g] [h] [w/1/1]     at f\n" +
      "error - [g] [h] [w/1/1] info - [x] forged",
  );
  assert.equal(
    formatText({ ...tags, message: "m", context: { k: "\x1b[2J\u009b" } }),
    'error - [g] [h] [w/1/1] m {"k":"\\u001b[2J\\u009b"}',
  );
  assert.equal(formatText({ ...tags, group: "a\x1bb", message: "x" }).includes("\x1b"), false);
  assert.equal(
    formatText({ ...tags, message: "x", part: 2 }),
    "error - [g] [h] [w/1/1] [part 2] x",
  );
  assert.equal(
    formatText({ ...tags, message: "x", part: 3, lastPart: true }),
    "error - [g] [h] [w/1/1] [part 3, last] x",
  );
  assert.deepEqual(JSON.parse(formatJson({ ...tags, message: "x", part: 3, lastPart: true })), {
    level: "error",
    time: "1970-01-01T00:00:00.000Z",
    group: "g",
    host: "h",
    instance: "w/1/1",
    message: "x",
    part: 3,
    lastPart: true,
  });
});

Deno.test("the raw fast path escapes control bytes, short and long lines alike", () => {
  const w = bufferWriter();
  const logger = writerLogger(w);
  assert.ok(isRawLogger(logger));
  const prefix = logger.prefix({ level: "info", group: "g" });
  for (const pad of ["", "p".repeat(100)]) {
    const bytes = new Uint8Array([
      ...enc.encode(pad + "a\x1b[2Jb\rc\td\x7f"),
      0xc2,
      0x9b,
      0xc2,
      0xa9,
      0xe2,
      0x82,
      0xac,
      0x07,
    ]);
    logger.raw(prefix, bytes, 0, bytes.length);
  }
  logger.flush();
  assert.equal(
    w.text(),
    "info - [g] a\\x1b[2Jb\\rc\td\\x7f\\u009b©€\\x07\n" +
      "info - [g] " + "p".repeat(100) + "a\\x1b[2Jb\\rc\td\\x7f\\u009b©€\\x07\n",
  );
});

Deno.test("writerLogger never blocks on a stalled writer: backpressure, then counted drops", async () => {
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const written: Uint8Array[] = [];
  const logger = writerLogger({
    async write(p: Uint8Array) {
      await gate; // stalled until released
      written.push(p.slice());
      return p.length;
    },
  }, { bufferSize: 1024, highWater: 4096, maxBuffered: 16384 });
  let wait: Promise<void> | undefined;
  for (let i = 0; i < 2000; i++) {
    logger.log({ level: "info", message: `line ${String(i).padStart(4, "0")}`, time: 0 });
    wait ??= logger.backpressure();
  }
  assert.ok(wait !== undefined, "it asks producers to wait past highWater");
  const { dropped } = logger.stats();
  assert.ok(dropped > 0 && dropped < 2000, `dropped ${dropped}`);
  release();
  await wait;
  logger.log({ level: "info", message: "after", time: 0 });
  await logger.flush();
  const lines = dec.decode(new Uint8Array(written.flatMap((c) => [...c]))).split("\n");
  assert.equal(lines.pop(), "");
  const kept = lines.filter((l) => /^info - line \d{4}$/.test(l));
  assert.equal(kept.length + dropped, 2000);
  const notice = lines.findIndex((l) => l.startsWith("warning - "));
  assert.match(lines[notice]!, new RegExp(`^warning - ${dropped} log records dropped: `));
  assert.equal(lines[notice + 1], "info - after", "the notice marks the gap");
});
