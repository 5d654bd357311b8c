import { deepStrictEqual as eq } from "node:assert/strict";
import type { LogRecord } from "../master/types.ts";
import { LogRing, teeLogger } from "./log_ring.ts";

const rec = (message: string): LogRecord => ({ level: "info", message, time: 0 });

Deno.test("LogRing keeps only the last `capacity` records, oldest first", () => {
  const ring = new LogRing({ capacity: 3 });
  eq(ring.recent(), []);
  for (const m of ["1", "2", "3", "4", "5"]) ring.log(rec(m));
  eq(ring.recent().map((r) => r.message), ["3", "4", "5"]);
  eq(ring.recent(2).map((r) => r.message), ["4", "5"]);
});

Deno.test("LogRing streams new records to followers until they stop", () => {
  const ring = new LogRing();
  const seen: string[] = [];
  const stop = ring.follow((r) => seen.push(r.message));
  ring.log(rec("a"));
  stop();
  ring.log(rec("b"));
  eq(seen, ["a"]);
});

Deno.test("LogRing survives a throwing follower", () => {
  const ring = new LogRing();
  ring.follow(() => {
    throw new Error("boom");
  });
  ring.log(rec("a"));
  eq(ring.recent().length, 1);
});

Deno.test("teeLogger() sends each record to every logger and flushes them", () => {
  const a = new LogRing();
  let flushed = 0;
  const tee = teeLogger(a, { log() {}, flush: () => flushed++ });
  tee.log(rec("x"));
  tee.flush();
  eq(a.recent().length, 1);
  eq(flushed, 1);
});
