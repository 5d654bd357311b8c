import { deepStrictEqual as eq, throws } from "node:assert/strict";
import { ConfigError, validateGroups } from "./config.ts";
import type { GroupConfig } from "./types.ts";

const g = (name: string, extra: Partial<GroupConfig> = {}): GroupConfig => ({
  name,
  command: "sleep",
  processes: [{ type: "local", instances: 1 }],
  ...extra,
});

function problems(groups: unknown): string[] {
  try {
    validateGroups(groups, { checkFiles: false });
  } catch (e) {
    if (e instanceof ConfigError) return e.message.split("\n");
    throw e;
  }
  return [];
}

Deno.test("validateGroups() accepts waitReady, readyTimeout and dependsOn on a group", () => {
  const groups = validateGroups([
    g("feeder", { waitReady: true, readyTimeout: 2.5 }),
    g("consumer", { dependsOn: ["feeder"] }),
  ], { checkFiles: false });
  eq(groups[0]!.waitReady, true);
  eq(groups[0]!.readyTimeout, 2.5);
  eq(groups[1]!.dependsOn, ["feeder"]);
});

Deno.test("validateGroups() names a dependsOn cycle with its field path and the cycle", () => {
  eq(
    problems([
      g("a"),
      g("b"),
      g("feeder", { dependsOn: ["consumer"] }),
      g("consumer", {
        dependsOn: ["feeder"],
      }),
    ]),
    ["groups[2].dependsOn: cycle feeder → consumer → feeder"],
  );
  eq(problems([g("self", { dependsOn: ["self"] })]), ["groups[0].dependsOn: cycle self → self"]);
  eq(
    problems([
      g("a", { dependsOn: ["c"] }),
      g("b", { dependsOn: ["a"] }),
      g("c", {
        dependsOn: ["b"],
      }),
    ]),
    ["groups[0].dependsOn: cycle a → c → b → a"],
  );
});

Deno.test("validateGroups() refuses unknown and repeated dependsOn names", () => {
  eq(problems([g("feeder"), g("consumer", { dependsOn: ["feedr"] })]), [
    'groups[1].dependsOn[0]: no group has this name (groups: "feeder", "consumer") (got "feedr")',
  ]);
  eq(problems([g("feeder"), g("consumer", { dependsOn: ["feeder", "feeder"] })]), [
    'groups[1].dependsOn[1]: listed twice, already at groups[1].dependsOn[0] (got "feeder")',
  ]);
});

Deno.test("validateGroups() checks the types of the readiness settings", () => {
  eq(problems([g("a", { waitReady: "yes" as unknown as boolean })]), [
    'groups[0].waitReady: must be true or false (got "yes")',
  ]);
  eq(problems([g("a", { readyTimeout: 0 })]), [
    "groups[0].readyTimeout: must be a number > 0 (got 0)",
  ]);
  eq(problems([g("a", { dependsOn: "b" as unknown as string[] })]), [
    'groups[0].dependsOn: must be an array (got "b")',
  ]);
});

Deno.test("validateGroups() says waitReady belongs to the group, not a process config", () => {
  throws(
    () =>
      validateGroups([{
        name: "a",
        command: "sleep",
        processes: [{ type: "local", instances: 1, waitReady: true }],
      }], { checkFiles: false }),
    /groups\[0\]\.processes\[0\]\.waitReady: unknown key \("waitReady" is a setting of the group\)/,
  );
});
