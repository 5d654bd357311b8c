import assert from "node:assert/strict";
import { parseListen } from "../master/http/listen.ts";
import { LogFeed } from "../master/http/log_feed.ts";
import { isRawLogger, writerLogger } from "../master/log.ts";
import type { LogRecord } from "../master/types.ts";
import { sleep } from "./_helpers.ts";

function sinkWriter() {
  const chunks: Uint8Array[] = [];
  return {
    writeSync(p: Uint8Array) {
      chunks.push(p.slice());
      return p.length;
    },
    text: () => new TextDecoder().decode(new Uint8Array(chunks.flatMap((c) => [...c]))),
  };
}

Deno.test("LogFeed.wrap keeps the text logger's fast path, counts raw lines, and feeds readers", () => {
  const out = sinkWriter();
  const feed = new LogFeed({ rate: 1000 });
  const logger = feed.wrap(writerLogger(out));
  assert(isRawLogger(logger), "still a RawLogger");
  const tags = { level: "info" as const, group: "g", host: "localhost", instance: "w/1/1", id: 1 };
  const prefix = logger.prefix(tags);
  const bytes = new TextEncoder().encode("one\ntwo\n");
  logger.raw(prefix, bytes, 0, 3); // nobody reads: counted only
  const cursor = feed.open();
  logger.raw(prefix, bytes, 4, 7);
  logger.log({ level: "error", message: "boom", time: 1, group: "g" });
  logger.flush();
  assert.equal(
    out.text(),
    "info - [g] [localhost] [w/1/1] one\ninfo - [g] [localhost] [w/1/1] two\nerror - [g] boom\n",
  );
  assert.deepEqual(feed.counts(), [{ group: "g", level: "info", n: 2 }, {
    group: "g",
    level: "error",
    n: 1,
  }]);
  const r = feed.read(cursor, 10);
  assert.equal(r.missed, 0);
  const messages = r.entries.map((e) => "record" in e ? e.record.message : e);
  assert.deepEqual(messages, ["two", "boom"]);
  assert.equal((r.entries[0] as { record: LogRecord }).record.instance, "w/1/1");
  feed.close();
});

Deno.test("LogFeed: a reader that lags is told how many it missed; over the rate, records are skipped and counted", async () => {
  const feed = new LogFeed({ capacity: 5, rate: 100 });
  const cursor = feed.open();
  for (let i = 0; i < 8; i++) feed.log({ level: "info", message: `m${i}`, time: 0 });
  const r = feed.read(cursor, 100);
  assert.equal(r.missed, 3);
  assert.deepEqual(r.entries.map((e) => "record" in e && e.record.message), [
    "m3",
    "m4",
    "m5",
    "m6",
    "m7",
  ]);
  for (let i = 0; i < 50; i++) feed.log({ level: "info", message: `x${i}`, time: 0 });
  await sleep(250); // the next 100 ms slice reports the skipped ones
  const all = feed.read(cursor, 100);
  const skipped = all.entries.filter((e) => "skipped" in e).map((e) =>
    (e as { skipped: number }).skipped
  );
  // 10 a slice: 8 went to m0…m7, 2 to x0 and x1; the 48 others were skipped
  assert.equal(skipped.reduce((a, b) => a + b, 0), 48, JSON.stringify(all.entries));
  assert.equal(feed.counts()[0]!.n, 58, "every record is counted");
  feed.close();
  const long = new LogFeed({ maxMessage: 10 });
  const c = long.open();
  long.log({ level: "info", message: "x".repeat(25), time: 0 });
  assert.deepEqual(long.read(c, 1).entries, [{
    record: { level: "info", message: "x".repeat(10) + " [15 characters cut]", time: 0 },
  }]);
  long.close();
});

Deno.test("parseListen: a bare port is loopback; other forms and bad values", () => {
  assert.deepEqual(parseListen("7700"), { hostname: "127.0.0.1", port: 7700, loopback: true });
  assert.deepEqual(parseListen("0.0.0.0:80"), { hostname: "0.0.0.0", port: 80, loopback: false });
  assert.deepEqual(parseListen("[::1]:0"), { hostname: "::1", port: 0, loopback: true });
  assert.deepEqual(parseListen("localhost:1"), { hostname: "localhost", port: 1, loopback: true });
  for (const bad of ["", "x", "host:", ":80", "1:2:3", "70000", "a b:1", "[::1]"]) {
    assert.throws(() => parseListen(bad), RangeError, bad);
  }
});

Deno.test("LogFeed: missed counts records, also those of an overwritten skipped-count entry", async () => {
  const feed = new LogFeed({ capacity: 3, rate: 100 }); // 10 records a 100 ms slice
  const cursor = feed.open();
  for (let i = 0; i < 30; i++) feed.log({ level: "info", message: `r${i}`, time: 0 });
  await sleep(150); // the slice ends: an entry {skipped: 20} is pushed
  const first = feed.read(cursor, 100);
  assert.equal(first.missed, 8, "r0…r7 were overwritten");
  assert.deepEqual(first.entries.map((e) => "record" in e ? e.record.message : e.skipped), [
    "r8",
    "r9",
    20,
  ]);
  for (let i = 0; i < 30; i++) feed.log({ level: "info", message: `s${i}`, time: 0 });
  await sleep(150);
  for (let i = 0; i < 3; i++) feed.log({ level: "info", message: `t${i}`, time: 0 });
  const second = feed.read(cursor, 100);
  // s0…s9 and the {skipped: 20} entry were overwritten by t0…t2
  assert.equal(second.missed, 30);
  assert.deepEqual(second.entries.map((e) => "record" in e && e.record.message), [
    "t0",
    "t1",
    "t2",
  ]);
  assert.deepEqual(feed.read(cursor, 100), { missed: 0, entries: [] });
  feed.close();
});
