/**
 * Config limits and rejections that keep a bad or hostile config from reaching
 * the launcher: control characters, instance counts, restart delays, params
 * size, YAML alias expansion; and `distarch validate`'s report of them.
 */

import assert from "node:assert/strict";
import { distarch, tempDir } from "../cli/_testing.ts";
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
    assert.deepEqual(check({ name }), [
      "groups[0].name: must not contain control characters (newline, tab, escape…); " +
      `use printable characters only (got ${JSON.stringify(name)})`,
    ]);
  }
  assert.deepEqual(check({ name: "Première équipe · 1" }), []);
});

Deno.test("validateGroups() rejects control characters in a host, with its path", () => {
  for (const host of CONTROL) {
    const remote = { type: "remote", hosts: ["ok", host], instances: 1 };
    const [issue, ...more] = issuesOf(() =>
      validateGroups([group({ processes: [remote] })], { checkFiles: false })
    );
    assert.deepEqual(more, []);
    assert.deepEqual(issue?.pathText, "groups[0].processes[0].hosts[1]", host);
  }
});

Deno.test("configSchema() rejects the names and hosts the validator rejects", () => {
  const defs = (configSchema() as { $defs: Record<string, { properties: Obj }> }).$defs;
  const name = new RegExp((defs.group!.properties.name as Obj).pattern as string, "u");
  const hosts = defs.remoteProcess!.properties.hosts as { items: Obj };
  const host = new RegExp(hosts.items.pattern as string, "u");
  for (const s of [...CONTROL, "ok", "é t", "-x", " lead", "user@h2", "a b"]) {
    assert.deepEqual(name.test(s), check({ name: s }).length === 0, `name ${JSON.stringify(s)}`);
    const remote = { type: "remote", hosts: [s], instances: 1 };
    assert.deepEqual(
      host.test(s),
      check({ processes: [remote] }).length === 0,
      `host ${JSON.stringify(s)}`,
    );
  }
});

Deno.test("validateGroups() bounds instances at MAX_INSTANCES per process config", () => {
  assert.deepEqual(MAX_INSTANCES, 10_000);
  assert.deepEqual(check({ processes: [{ type: "local", instances: MAX_INSTANCES }] }), []);
  for (const instances of [MAX_INSTANCES + 1, 1_000_000_000]) {
    const remote = { type: "remote", hosts: ["h"], instances };
    assert.deepEqual(check({ processes: [{ type: "local", instances: 1 }, remote] }), [
      `groups[0].processes[1].instances: must be an integer from 1 to 10000 (got ${instances})`,
    ]);
  }
  const schema = configSchema() as { $defs: Record<string, { properties: Obj }> };
  for (const def of ["localProcess", "remoteProcess"]) {
    assert.deepEqual((schema.$defs[def]!.properties.instances as Obj).maximum, MAX_INSTANCES, def);
  }
});

Deno.test("validateLaunchOptions() requires backoffInitial > 0, saying why", () => {
  assert.deepEqual(lines(() => validateLaunchOptions({ backoffInitial: 0 })), [
    "backoffInitial: must be a number > 0: it is the first restart delay in seconds, " +
    "and 0 would restart a failing instance in a tight loop (got 0)",
  ]);
  assert.deepEqual(lines(() => validateLaunchOptions({ backoffInitial: 0.01 })), []);
  const schema = configSchema() as { properties: Record<string, Obj> };
  assert.deepEqual(schema.properties.backoffInitial?.exclusiveMinimum, 0);
  assert.deepEqual(schema.properties.backoffInitial?.minimum, undefined);
});

Deno.test("validateGroups() bounds params at MAX_PARAMS_BYTES of JSON per group", () => {
  assert.deepEqual(MAX_PARAMS_BYTES, 16 * 1024 * 1024);
  assert.deepEqual(check({ params: { s: "x".repeat(MAX_PARAMS_BYTES - 100) } }), []);
  const chunk = "é".repeat(1024 * 1024); // 2 MiB of UTF-8 per reference
  const out = check({ params: { list: Array(9).fill(chunk) } });
  assert.deepEqual(out.length, 1, out.join("\n"));
  assert.match(
    out[0]!,
    /^groups\[0\]\.params: is 18\.0 MiB as JSON, over the limit of 16 MiB: every instance gets its params on one stdin line; pass large data as a file path instead$/,
  );
});

// ---------------------------------------------------------------- the CLI

async function validate(text: string): Promise<{ code: number; out: string; file: string }> {
  using dir = tempDir();
  const file = `${dir.path}/d.yaml`;
  await Deno.writeTextFile(file, text);
  const res = await distarch(["validate", file]);
  return { code: res.code, out: res.stdout + res.stderr, file };
}

Deno.test("distarch validate: a billion-laughs file is a config error, exit 3", async () => {
  const levels = ["a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]"];
  for (const c of "bcdefghi") {
    const prev = String.fromCharCode(c.charCodeAt(0) - 1);
    levels.push(`${c}: &${c} [${Array(9).fill(`*${prev}`).join(", ")}]`);
  }
  const { code, out, file } = await validate(levels.join("\n") + "\ngroups: *i\n");
  assert.deepEqual(code, 3, out);
  assert.ok(!out.includes("ReferenceError") && !out.includes("    at "), out);
  assert.match(
    out,
    new RegExp(`${file}:\\d+:\\d+ \\w+\\[\\d+\\]\\S*: alias \\*\\w+ makes the config larger than`),
  );
});

Deno.test("distarch validate: many aliases of one long string are refused at the alias", async () => {
  const big = "x".repeat(200_000);
  const refs = Array(900).fill("*big").join(", ");
  const text = `big: &big ${big}
groups:
  - name: g
    command: sleep
    params: { copies: [${refs}] }
    processes: [{ type: local, instances: 1 }]
`;
  const { code, out, file } = await validate(text);
  assert.deepEqual(code, 3, out);
  // with the anchored original, the 83rd copy crosses 16 MiB (200,000 characters each)
  assert.match(
    out,
    new RegExp(
      `${file}:5:\\d+ groups\\[0\\]\\.params\\.copies\\[82\\]: alias \\*big makes the config ` +
        "larger than 16 MiB once expanded",
    ),
  );
});

Deno.test("distarch validate lists problems sorted by position, with normalised paths", async () => {
  const text = `backoffMax: 1
groups:
  - name: g
    command: ./no-such.sh
    processes: [{ type: local, instances: 1 }]
backoffInitial: 5
timeout: -1
`;
  const { code, out, file } = await validate(text);
  assert.deepEqual(code, 3, out);
  const dir = file.slice(0, file.lastIndexOf("/"));
  const got = out.split("\n").filter((l) => l.startsWith(file));
  assert.deepEqual(got.map((l) => l.split(" ")[0]), [
    `${file}:1:13`,
    `${file}:4:14`,
    `${file}:7:10`,
  ]);
  assert.ok(got[1]?.includes(`command file not found: ${dir}/no-such.sh `), got[1]);
});
