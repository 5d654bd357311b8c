/**
 * The JSON Schema and the validator agree: the same keys at every level, and
 * the same verdict on a table of sample configs. The schema is checked by a
 * small evaluator of exactly the keywords configSchema() emits (an unknown
 * keyword fails the test, so a new one cannot be silently ignored).
 */

import { deepStrictEqual as eq, ok } from "node:assert/strict";
import { ConfigError, MAX_INSTANCES, MAX_PARAMS_BYTES, validateConfig } from "./config.ts";
import { configSchema } from "./config_schema.ts";
import { _DEFS } from "./_config_fields.ts";
import { _LAUNCH } from "./_launch_rules.ts";

type Obj = Record<string, unknown>;
type Schema = Obj;

// ---------------------------------------------------------------- evaluator

const ANNOTATIONS = new Set(["$schema", "$defs", "title", "description", "default"]);

function typeOf(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/** The paths where `v` breaks `s` (empty when valid); `root` resolves `$ref`. */
function schemaErrors(s: Schema, v: unknown, root: Schema, path = ""): string[] {
  const out: string[] = [];
  const fail = (why: string) => out.push(`${path || "/"}: ${why}`);
  for (const [key, arg] of Object.entries(s)) {
    const a = arg as never;
    switch (key) {
      case "$ref": {
        const name = (arg as string).replace("#/$defs/", "");
        out.push(...schemaErrors((root.$defs as Record<string, Schema>)[name]!, v, root, path));
        break;
      }
      case "oneOf": {
        const n = (a as Schema[]).filter((x) => schemaErrors(x, v, root, path).length === 0);
        if (n.length !== 1) fail(`matches ${n.length} of oneOf`);
        break;
      }
      case "const":
        if (v !== arg) fail(`not ${arg}`);
        break;
      case "enum":
        if (!(a as unknown[]).includes(v)) fail("not in enum");
        break;
      case "type": {
        const t = typeOf(v);
        if (t !== arg && !(arg === "number" && t === "integer")) fail(`not ${arg}`);
        break;
      }
      case "properties":
      case "required":
      case "additionalProperties":
      case "propertyNames": {
        if (typeOf(v) !== "object") break;
        const o = v as Obj;
        const props = (s.properties ?? {}) as Record<string, Schema>;
        if (key === "properties") {
          for (const [k, x] of Object.entries(props)) {
            if (Object.hasOwn(o, k)) out.push(...schemaErrors(x, o[k], root, `${path}/${k}`));
          }
        } else if (key === "required") {
          for (const k of a as string[]) if (!Object.hasOwn(o, k)) fail(`${k} is required`);
        } else if (key === "propertyNames") {
          for (const k of Object.keys(o)) out.push(...schemaErrors(a, k, root, `${path}/${k}`));
        } else {
          for (const k of Object.keys(o).filter((k) => !Object.hasOwn(props, k))) {
            if (arg === false) fail(`${k} is not allowed`);
            else out.push(...schemaErrors(a, o[k], root, `${path}/${k}`));
          }
        }
        break;
      }
      case "pattern":
        if (typeof v === "string" && !new RegExp(a, "u").test(v)) fail(`does not match ${arg}`);
        break;
      case "minLength":
        if (typeof v === "string" && [...v].length < a) fail(`shorter than ${arg}`);
        break;
      case "minimum":
        if (typeof v === "number" && v < a) fail(`< ${arg}`);
        break;
      case "maximum":
        if (typeof v === "number" && v > a) fail(`> ${arg}`);
        break;
      case "exclusiveMinimum":
        if (typeof v === "number" && v <= a) fail(`≤ ${arg}`);
        break;
      case "items":
        if (Array.isArray(v)) {
          v.forEach((x, i) => out.push(...schemaErrors(a, x, root, `${path}/${i}`)));
        }
        break;
      case "minItems":
        if (Array.isArray(v) && v.length < a) fail(`fewer than ${arg} items`);
        break;
      case "uniqueItems": {
        const texts = Array.isArray(v) ? v.map((x) => JSON.stringify(x)) : [];
        if (arg === true && new Set(texts).size !== texts.length) fail("duplicate items");
        break;
      }
      default:
        if (!ANNOTATIONS.has(key)) throw new Error(`the evaluator does not know "${key}"`);
    }
  }
  return out;
}

Deno.test("the schema evaluator of this test follows JSON Schema on a few known cases", () => {
  const root = { $defs: { n: { type: "integer", minimum: 1 } } };
  const cases: [Schema, unknown, boolean][] = [
    [{ type: "number" }, 3, true],
    [{ type: "integer" }, 1.5, false],
    [{ type: "string", minLength: 1 }, "é", true],
    [{ type: "string", pattern: "^[^\\u0000-\\u001f]+$" }, "a\tb", false],
    [{ type: "object", propertyNames: { pattern: "^a" } }, { b: 1 }, false],
    [{ type: "object", additionalProperties: { type: "string" } }, { a: 1 }, false],
    [{ type: "object", properties: { a: {} }, additionalProperties: false }, { b: 1 }, false],
    [{ oneOf: [{ const: "x" }, { const: "y" }] }, "y", true],
    [{ oneOf: [{ type: "number" }, { type: "integer" }] }, 1, false],
    [{ type: "array", items: { $ref: "#/$defs/n" }, uniqueItems: true }, [1, 1], false],
    [{ type: "array", items: { $ref: "#/$defs/n" } }, [1, 0], false],
    [{ type: "number", exclusiveMinimum: 0 }, 0, false],
  ];
  for (const [schema, value, valid] of cases) {
    eq(schemaErrors(schema, value, root).length === 0, valid, JSON.stringify([schema, value]));
  }
});

// ---------------------------------------------------------------- the same keys

/** The keys the validator accepts in `make(probe)`: every candidate not called unknown at `at`. */
function acceptedKeys(candidates: string[], make: (probe: Obj) => unknown, at: string): string[] {
  const probe = Object.fromEntries(candidates.map((k) => [k, undefined]));
  let unknown: string[] = [];
  try {
    validateConfig(make(probe), { checkFiles: false });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    unknown = e.issues
      .filter((i) => i.message.startsWith("unknown key") && i.path.slice(0, -1).join(".") === at)
      .map((i) => String(i.path.at(-1)));
  }
  return candidates.filter((k) => !unknown.includes(k)).sort();
}

/** Every object schema with `properties` in `s`, by JSON pointer. */
function objectLevels(s: unknown, pointer = "#"): Map<string, Schema> {
  const out = new Map<string, Schema>();
  if (typeof s !== "object" || s === null) return out;
  if ("properties" in s) out.set(pointer, s as Schema);
  for (const [k, x] of Object.entries(s)) {
    for (const [p, y] of objectLevels(x, `${pointer}/${k}`)) out.set(p, y);
  }
  return out;
}

const G = { name: "g", command: "sleep" };

Deno.test("the schema has exactly the keys the validator accepts, at every level", () => {
  const schema = configSchema();
  const levels = objectLevels(schema);
  const names = [...levels.values()].flatMap((l) => Object.keys(l.properties as Obj));
  const tables = [_LAUNCH, ...Object.values(_DEFS).map((t) => t.fields)].flatMap(Object.keys);
  // every key known anywhere, plus near misses the validator must not take
  const candidates = [...new Set([...names, ...tables, "grups", "Name", "host", "proto"])];
  const probes: Record<string, [(probe: Obj) => unknown, string]> = {
    "#": [(p) => ({ ...p, groups: [{ ...G, processes: [{ type: "local", instances: 1 }] }] }), ""],
    "#/$defs/group": [(p) => ({ groups: [{ ...p }] }), "groups.0"],
    "#/$defs/localProcess": [
      (p) => ({ groups: [{ ...G, processes: [{ ...p, type: "local" }] }] }),
      "groups.0.processes.0",
    ],
    "#/$defs/remoteProcess": [
      (p) => ({ groups: [{ ...G, processes: [{ ...p, type: "remote" }] }] }),
      "groups.0.processes.0",
    ],
    "#/properties/http": [(p) => file({}, { http: { listen: "7700", ...p } }), "http"],
  };
  eq([...levels.keys()].sort(), Object.keys(probes).sort(), "a new object level needs a probe");
  for (const [pointer, [make, at]] of Object.entries(probes)) {
    const props = Object.keys(levels.get(pointer)!.properties as Obj).sort();
    eq(acceptedKeys(candidates, make, at), props, pointer);
    eq(levels.get(pointer)!.additionalProperties, false, pointer);
  }
  // the launcher options are the top level but for $schema, groups and http (the dashboard)
  const top = Object.keys(levels.get("#")!.properties as Obj);
  const others = ["$schema", "groups", "http"];
  eq(Object.keys(_LAUNCH).sort(), top.filter((k) => !others.includes(k)).sort());
  for (const [name, t] of Object.entries(_DEFS)) {
    eq(Object.keys(t.fields), Object.keys(levels.get(`#/$defs/${name}`)!.properties as Obj));
    eq(t.required, levels.get(`#/$defs/${name}`)!.required, name);
  }
});

// ---------------------------------------------------------------- the same verdicts

const L = { type: "local", instances: 1 };
const R = { type: "remote", hosts: ["h1"], instances: 1 };
/** A config of one group with `group` fields, and `top` top-level keys. */
const file = (group: Obj = {}, top: Obj = {}): Obj => ({
  groups: [{ ...G, processes: [L], ...group }],
  ...top,
});
const local = (p: Obj) => file({ processes: [{ ...L, ...p }] });
const remote = (p: Obj) => file({ processes: [{ ...R, ...p }] });

/** Configs both must accept. */
const VALID: Obj[] = [
  file(),
  file({}, { http: { listen: "7700" } }),
  file({}, { http: { listen: "[::1]:0", token: "0123456789abcdef-._~" } }),
  file({ name: "Première équipe · 1", params: { a: [1, "x", null, true, { b: 2.5 }] } }),
  file({ processes: [L, R], permissions: [] }, { $schema: "./schema.json" }),
  file({ binPath: "deno", path: "work", priority: -20, timeout: 0, env: { _X: "", Y2: "v" } }),
  file({ permissions: ["-A", "--allow-all", "--allow-net=a:1,b:2", "--deny-env=SECRET"] }),
  local({ instances: MAX_INSTANCES, priority: 19, env: { A: "1" }, permissions: ["--allow-read"] }),
  remote({ hosts: ["h1", "user@h2", "10.0.0.1"], username: "bob", port: 65535 }),
  remote({ privateKey: "~/.ssh/id", sshOptions: { StrictHostKeyChecking: "accept-new" } }),
  file({}, { timeout: 0, maxProcessTimeouts: 0, maxRunningTime: 3600, restart: "always" }),
  file({}, { maxRestarts: 0, gracePeriod: 0, backoffInitial: 0.01, backoffMax: 0.01 }),
  file({}, { backoffReset: 0, checkInterval: 0.01, sshLease: 0.5, service: true }),
  file({}, { restart: "never", backoffInitial: 5, backoffMax: 5 }),
];

/** Configs both must reject. */
const INVALID: Obj[] = [
  {},
  file({}, { http: {} }),
  file({}, { http: "7700" }),
  file({}, { http: { listen: "host:port" } }),
  file({}, { http: { listen: "7700", token: "short" } }),
  file({}, { http: { listen: "7700", token: "has space in it 0123" } }),
  file({}, { http: { listen: "7700", tokn: "x" } }),
  { groups: [] },
  { groups: {} },
  { groups: ["g"] },
  { groups: null },
  file({}, { grups: 1 }),
  file({}, { $schema: "" }),
  file({}, { $schema: 1 }),
  file({ nmae: "x" }),
  file({ instances: 1 }),
  file({ hosts: ["h"] }),
  ...["", 5, null, "a\nb", "tab\there", "esc\x1b[31m", "nul\0", "del\x7f", "c1\x9b", "\u2028"]
    .map((name) => file({ name })),
  file({ command: "" }),
  file({ command: undefined }),
  file({ processes: [] }),
  file({ processes: undefined }),
  file({ processes: L }),
  file({ processes: ["local"] }),
  file({ processes: [{ instances: 1 }] }),
  file({ processes: [{ ...L, type: "cloud" }] }),
  file({ processes: [{ type: "local" }] }),
  ...[0, 1.5, MAX_INSTANCES + 1, "2", null].map((instances) => local({ instances })),
  local({ hosts: ["h"] }),
  local({ username: "bob" }),
  remote({ hosts: undefined }),
  ...[[], "h", [""], ["-x"], ["a b"], ["a\x7f"], ["a\x85"], [" lead"], ["h", "h"], [1]]
    .map((hosts) => remote({ hosts })),
  ...["", "-u", "a@b", "a b", "a\x1bb", "a\x85b", "a\u2028b", 7].map((username) =>
    remote({ username })
  ),
  ...[0, 65536, 22.5, "22"].map((port) => remote({ port })),
  remote({ privateKey: "" }),
  ...[{ "Bad-Key": "x" }, { A: "x\ny" }, { A: "x\0" }, { A: 1 }, [], "A=b"].map((sshOptions) =>
    remote({ sshOptions })
  ),
  ...[{ "1A": "" }, { "A-B": "" }, { A: "x\0" }, { A: 1 }, [], null].map((env) => file({ env })),
  ...[["--unstable"], ["; rm"], ["--allow-read=a b"], [""], [1], "--allow-read"].map(
    (permissions) => file({ permissions }),
  ),
  local({ permissions: ["--allow-env=A;B"] }),
  ...[-21, 20, 1.5, "1"].map((priority) => file({ priority })),
  ...[-1, "1", null].map((timeout) => local({ timeout })),
  ...[[], "x", null, 1].map((params) => file({ params })),
  file({ binPath: "" }),
  file({ path: "" }),
  ...Object.entries({
    timeout: [-1, "1"],
    maxProcessTimeouts: [1.5, -1],
    maxRunningTime: [-1, null],
    restart: ["sometimes", true],
    maxRestarts: [-1, 0.5],
    gracePeriod: ["1", -0.1],
    backoffInitial: [0, -1],
    backoffMax: [-1, "60"],
    backoffReset: [-1, false],
    checkInterval: [0, -1],
    sshLease: [0, "10"],
    service: ["yes", 1],
  }).flatMap(([key, values]) => values.map((v) => file({}, { [key]: v }))),
];

/** Configs only the validator rejects: rules across fields that JSON Schema cannot say. */
const VALIDATOR_ONLY: Obj[] = [
  { groups: [{ ...G, processes: [L] }, { ...G, processes: [L] }] }, // duplicate group names
  file({}, { backoffInitial: 10, backoffMax: 5 }),
  file({ params: { s: "x".repeat(MAX_PARAMS_BYTES) } }),
];

function validatorAccepts(config: Obj): boolean {
  try {
    validateConfig(config, { checkFiles: false });
    return true;
  } catch (e) {
    if (e instanceof ConfigError) return false;
    throw e;
  }
}

/** JSON as the schema sees it: `undefined` keys dropped, as YAML/JSON would never hold them. */
const asJson = (config: Obj): unknown => JSON.parse(JSON.stringify(config));

Deno.test("the schema and the validator accept and reject the same sample configs", () => {
  const schema = configSchema();
  const show = (c: Obj) => JSON.stringify(c).slice(0, 200);
  for (const config of VALID) {
    eq(validatorAccepts(config), true, `validator rejects ${show(config)}`);
    eq(schemaErrors(schema, asJson(config), schema), [], `schema rejects ${show(config)}`);
  }
  for (const config of INVALID) {
    eq(validatorAccepts(config), false, `validator accepts ${show(config)}`);
    ok(schemaErrors(schema, asJson(config), schema).length > 0, `schema accepts ${show(config)}`);
  }
  for (const config of VALIDATOR_ONLY) {
    eq(validatorAccepts(config), false, `validator accepts ${show(config)}`);
    eq(schemaErrors(schema, asJson(config), schema), [], `schema rejects ${show(config)}`);
  }
});

/** Every object schema with `propertyNames` (a map such as `env`) in `s`, by JSON pointer. */
function mapLevels(s: unknown, pointer = "#"): Map<string, Schema> {
  const out = new Map<string, Schema>();
  if (typeof s !== "object" || s === null) return out;
  if ("propertyNames" in s) out.set(pointer, s as Schema);
  for (const [k, x] of Object.entries(s)) {
    for (const [p, y] of mapLevels(x, `${pointer}/${k}`)) out.set(p, y);
  }
  return out;
}

Deno.test("the schema's maps (env, sshOptions) take the key names the validator takes", () => {
  const schema = configSchema();
  const levels = mapLevels(schema);
  const probes: Record<string, (map: Obj) => Obj> = {
    "#/$defs/group/properties/env": (env) => file({ env }),
    "#/$defs/localProcess/properties/env": (env) => local({ env }),
    "#/$defs/remoteProcess/properties/env": (env) => remote({ env }),
    "#/$defs/remoteProcess/properties/sshOptions": (sshOptions) => remote({ sshOptions }),
  };
  eq([...levels.keys()].sort(), Object.keys(probes).sort(), "a new map needs a probe");
  const names = ["A", "_a1", "Port2", "1A", "A-B", "a.b", "A B", "é", "", "__proto__x"];
  for (const [pointer, make] of Object.entries(probes)) {
    for (const name of names) {
      const config = make({ [name]: "v" });
      eq(
        schemaErrors(schema, config, schema).length === 0,
        validatorAccepts(config),
        pointer + name,
      );
    }
  }
});

export { INVALID, VALID, VALIDATOR_ONLY }; // for a one-off check against another validator
