import { deepStrictEqual as eq } from "node:assert/strict";
import { diffGroups } from "./_reload_diff.ts";
import { groupReports, reportLines } from "./reload.ts";
import type { GroupConfig } from "./types.ts";

const g = (name: string, instances: number, extra: Partial<GroupConfig> = {}): GroupConfig => ({
  name,
  command: "w.sh",
  processes: [{ type: "local", instances }],
  ...extra,
});

Deno.test("reportLines() says what a reload did to each group, in the new order", () => {
  const before = [g("alpha", 2), g("beta", 2), g("gamma", 2), g("eps", 2)];
  const after = [
    g("alpha", 2),
    g("beta", 3, { env: { V: "2" } }),
    g("delta", 1),
    g("eps", 1, { dependsOn: ["alpha"] }),
  ];
  const groups = groupReports(diffGroups(before, after), "rolling");
  eq(reportLines({ groups, options: [], ignored: [] }), [
    "alpha: unchanged",
    "beta: changed (rolling restart of 2: env, +1)",
    "delta: added",
    "eps: scaled (-1, dependsOn updated)",
    "gamma: removed",
  ]);
  eq(groups.find((r) => r.group === "gamma"), {
    group: "gamma",
    kind: "removed",
    replaced: 0,
    started: 0,
    stopped: 2,
    fields: [],
    settings: [],
  });
});

Deno.test("reportLines() names the all-at-once mode and the options", () => {
  const groups = groupReports(
    diffGroups([g("beta", 2)], [g("beta", 2, { params: { a: 1 } })]),
    "all-at-once",
  );
  eq(reportLines({ groups, options: ["gracePeriod"], ignored: ["sshLease"] }), [
    "beta: changed (restart of 2 at once: params)",
    "options applied: gracePeriod",
    "options that cannot change while running, kept: sshLease",
  ]);
});
