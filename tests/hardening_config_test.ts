/**
 * Config limits and rejections that keep a bad or hostile config from reaching
 * the launcher: control characters, instance counts, restart delays, params
 * size, YAML alias expansion; and `distarch validate`'s report of them.
 */

import { deepStrictEqual as eq, match } from "node:assert/strict";
import {
  ConfigError,
  type ConfigIssue,
  MAX_INSTANCES,
  MAX_PARAMS_BYTES,
  validateGroups,
  validateLaunchOptions,
} from "../master/config.ts";
import { configSchema } from "../master/config_schema.ts";

type Obj = Record<string, unknown>;
const group = (extra: Obj = {}): Obj => ({
  name: "g",
  command: "sleep",
  processes: [{ type: "local", instances: 1 }],
  ...extra,
});

function issuesOf(fn: () => unknown): ConfigIssue[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  return [];
}
const lines = (fn: () => unknown) => issuesOf(fn).map((i) => `${i.pathText}: ${i.message}`);
const check = (g: Obj) => lines(() => validateGroups([group(g)], { checkFiles: false }));

const CONTROL = ["a\nb", "a\rb", "tab\there", "esc\x1b[31m", "nul\0", "del\x7f", "c1\x9b"];

Deno.test("validateGroups() rejects control characters in a group name, with its path", () => {
  for (const name of CONTROL) {
    eq(check({ name }), [
      "groups[0].name: must not contain control characters (newline, tab, escape…); " +
      `use printable characters only (got ${JSON.stringify(name)})`,
    ]);
  }
  eq(check({ name: "Première équipe · 1" }), []);
});

Deno.test("validateGroups() rejects control characters in a host, with its path", () => {
  for (const host of CONTROL) {
    const remote = { type: "remote", hosts: ["ok", host], instances: 1 };
    const [issue, ...more] = issuesOf(() =>
      validateGroups([group({ processes: [remote] })], { checkFiles: false })
    );
    eq(more, []);
    eq(issue?.pathText, "groups[0].processes[0].hosts[1]", host);
  }
});

Deno.test("configSchema() rejects the names and hosts the validator rejects", () => {
  const defs = (configSchema() as { $defs: Record<string, { properties: Obj }> }).$defs;
  const name = new RegExp((defs.group!.properties.name as Obj).pattern as string, "u");
  const hosts = defs.remoteProcess!.properties.hosts as { items: Obj };
  const host = new RegExp(hosts.items.pattern as string, "u");
  for (const s of [...CONTROL, "ok", "é t", "-x", " lead", "user@h2", "a b"]) {
    eq(name.test(s), check({ name: s }).length === 0, `name ${JSON.stringify(s)}`);
    const remote = { type: "remote", hosts: [s], instances: 1 };
    eq(host.test(s), check({ processes: [remote] }).length === 0, `host ${JSON.stringify(s)}`);
  }
});

Deno.test("validateGroups() bounds instances at MAX_INSTANCES per process config", () => {
  eq(MAX_INSTANCES, 10_000);
  eq(check({ processes: [{ type: "local", instances: MAX_INSTANCES }] }), []);
  for (const instances of [MAX_INSTANCES + 1, 1_000_000_000]) {
    const remote = { type: "remote", hosts: ["h"], instances };
    eq(check({ processes: [{ type: "local", instances: 1 }, remote] }), [
      `groups[0].processes[1].instances: must be an integer from 1 to 10000 (got ${instances})`,
    ]);
  }
  const schema = configSchema() as { $defs: Record<string, { properties: Obj }> };
  for (const def of ["localProcess", "remoteProcess"]) {
    eq((schema.$defs[def]!.properties.instances as Obj).maximum, MAX_INSTANCES, def);
  }
});

Deno.test("validateLaunchOptions() requires backoffInitial > 0, saying why", () => {
  eq(lines(() => validateLaunchOptions({ backoffInitial: 0 })), [
    "backoffInitial: must be a number > 0: it is the first restart delay in seconds, " +
    "and 0 would restart a failing instance in a tight loop (got 0)",
  ]);
  eq(lines(() => validateLaunchOptions({ backoffInitial: 0.01 })), []);
  const schema = configSchema() as { properties: Record<string, Obj> };
  eq(schema.properties.backoffInitial?.exclusiveMinimum, 0);
  eq(schema.properties.backoffInitial?.minimum, undefined);
});

Deno.test("validateGroups() bounds params at MAX_PARAMS_BYTES of JSON per group", () => {
  eq(MAX_PARAMS_BYTES, 16 * 1024 * 1024);
  eq(check({ params: { s: "x".repeat(MAX_PARAMS_BYTES - 100) } }), []);
  const chunk = "é".repeat(1024 * 1024); // 2 MiB of UTF-8 per reference
  const out = check({ params: { list: Array(9).fill(chunk) } });
  eq(out.length, 1, out.join("\n"));
  match(
    out[0]!,
    /^groups\[0\]\.params: is 18\.0 MiB as JSON, over the limit of 16 MiB: every instance gets its params on one stdin line; pass large data as a file path instead$/,
  );
});
