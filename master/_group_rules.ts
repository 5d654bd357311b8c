/**
 * The rules of the list of groups beyond each group's fields: not empty,
 * unique names, `dependsOn` naming known groups without a cycle, and
 * (optionally) existing command files.
 *
 * @module
 */

import { errorMessage } from "../_shared/errors.ts";
import { isDenoScript, resolveScript } from "./_paths.ts";
import type { GroupConfig } from "./types.ts";
import { _Issues, _object, _pathText, _show, type ConfigPath, type Field } from "./_checks.ts";
import { _DEFS, _ref } from "./_config_fields.ts";
import { findCycle } from "./_dependencies.ts";

/** Options of {@linkcode validateGroups}. */
export interface ValidateGroupsOptions {
  /** Directory relative `command`/`path` are resolved against. @default {Deno.cwd()} */
  cwd?: string;
  /** Check that the command file of each local process config exists. @default {true} */
  checkFiles?: boolean;
  /** Path prefix of the groups in issues. @default {["groups"]} */
  root?: ConfigPath;
}

/**
 * For each local process config, the command file must exist: Deno scripts and
 * commands with a `/` (a bare name may be a program on the PATH, see plan.ts).
 */
function _checkFiles(g: GroupConfig, path: ConfigPath, issues: _Issues, cwd: string): void {
  if (!isDenoScript(g.command) && !g.command.includes("/")) return;
  const seen = new Set<string>();
  for (const p of g.processes) {
    if (p.type !== "local") continue;
    const file = resolveScript(g.command, p.path ?? g.path, cwd);
    if (seen.has(file)) continue;
    seen.add(file);
    const at = [...path, "command"];
    try {
      if (!Deno.statSync(file).isFile) issues.fail(at, `${file} is not a file`, g.command);
    } catch (e) {
      const what = e instanceof Deno.errors.NotFound
        ? `command file not found: ${file}`
        : `cannot stat command file ${file}: ${errorMessage(e)}`;
      issues.add(at, `${what} (got ${_show(g.command)})`, g.command, e);
    }
  }
}

/** Checks a list of groups at `root`; returns the copy (groups that failed are `undefined`). */
export function _groups(
  v: unknown,
  root: ConfigPath,
  issues: _Issues,
  options: ValidateGroupsOptions,
): unknown {
  if (!Array.isArray(v)) return issues.fail(root, "must be an array of groups", v);
  if (v.length === 0) return issues.fail(root, "must not be empty: there are no groups", v);
  const { fields, required, hints } = _DEFS.group;
  const names = new Map<unknown, number>();
  const out = v.map((raw, i) => {
    const path = [...root, i];
    const before = issues.list.length;
    const g = _object(raw, path, issues, fields, required, hints);
    const first = names.get(g?.name);
    if (g?.name !== undefined && first !== undefined) {
      const where = _pathText([...root, first]);
      issues.fail([...path, "name"], `duplicate group name, already used by ${where}`, g.name);
    } else if (g?.name !== undefined) names.set(g.name, i);
    if (g && options.checkFiles !== false && issues.list.length === before) {
      _checkFiles(g as unknown as GroupConfig, path, issues, options.cwd ?? Deno.cwd());
    }
    return g;
  });
  _checkDependencies(out, root, issues);
  return out;
}

/** Every `dependsOn` entry names another group of the list, and they form no cycle. */
function _checkDependencies(
  groups: (Record<string, unknown> | undefined)[],
  root: ConfigPath,
  issues: _Issues,
): void {
  const known = groups.flatMap((g) => typeof g?.name === "string" ? [g.name] : []);
  const nodes: { name: string; dependsOn: string[] }[] = [];
  const indexOf = new Map<string, number>();
  groups.forEach((g, i) => {
    if (typeof g?.name !== "string") return;
    const deps = Array.isArray(g.dependsOn) ? g.dependsOn as (string | undefined)[] : [];
    deps.forEach((d, j) => {
      if (d === undefined || known.includes(d)) return;
      const list = known.map((k) => JSON.stringify(k)).join(", ");
      issues.fail([...root, i, "dependsOn", j], `no group has this name (groups: ${list})`, d);
    });
    if (!indexOf.has(g.name)) indexOf.set(g.name, i);
    nodes.push({ name: g.name, dependsOn: deps.filter((d): d is string => d !== undefined) });
  });
  const cycle = findCycle(nodes);
  if (cycle === undefined) return;
  const at = [...root, indexOf.get(cycle[0]!)!, "dependsOn"];
  issues.add(at, `cycle ${cycle.join(" → ")}`, cycle);
}

/**
 * The `groups` field of a config file. Its schema says what JSON Schema can:
 * a non-empty array of groups; unique names and command files are the
 * validator's alone.
 */
export function _groupsField(options: ValidateGroupsOptions): Field {
  return {
    check: (v, path, issues) => _groups(v, path, issues, options),
    schema: {
      type: "array",
      minItems: 1,
      items: _ref("group"),
      description: "The groups; each runs one command as many instances.",
    },
  };
}
