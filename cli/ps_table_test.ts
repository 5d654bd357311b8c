import { deepStrictEqual as eq } from "node:assert/strict";
import type { InstanceInfo } from "../master/events.ts";
import { psTable } from "./ps_table.ts";

const base: InstanceInfo = {
  id: 1,
  groupId: 1,
  groupCount: 2,
  group: "First Group",
  host: "localhost",
  label: "script1.ts/1/1",
  state: "running",
  pid: 4242,
  startedAt: 0,
  lastSeen: 9_000,
  restarts: 1,
  runs: 2,
  ready: true,
};

Deno.test("psTable() aligns one row per instance under the header", () => {
  const text = psTable([
    { ...base, cpu: 12.46, rss: 50_855_936 },
    { ...base, id: 12, groupId: 2, state: "suspended", pid: 7, cpu: 1, rss: 1 },
  ], 10_000);
  eq(text.split("\n"), [
    "GROUP        HOST       ID  GROUPID  PID   STATE      READY  CPU    MEM       UPTIME  RESTARTS  LAST SEEN",
    "First Group  localhost  1   1        4242  running    yes    12.5%  48.5 MiB  10s     1         1s ago",
    "First Group  localhost  12  2        -     suspended  -      -      -         -       1         1s ago",
  ]);
});

Deno.test("psTable() shows why a failed instance failed", () => {
  const text = psTable([{ ...base, state: "failed", lastReason: "crashed" }], 10_000);
  eq(text.split("\n")[1]?.includes("failed (crashed)"), true);
});

Deno.test("psTable() escapes control characters in group and host names", () => {
  const text = psTable([{ ...base, group: "a\x1b[2Jb", host: "h\x9b" }], 10_000);
  eq(text.split("\n")[1]?.startsWith("a\\x1b[2Jb  h\\u009b  "), true, text);
});
