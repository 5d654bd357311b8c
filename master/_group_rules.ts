/**
 * The rules of the list of groups beyond each group's fields: not empty,
 * unique names, and (optionally) existing command files.
 *
 * @module
 */

import { errorMessage } from "../_shared/errors.ts";
import { isDenoScript, resolveScript } from "./plan.ts";
import type { GroupConfig } from "./types.ts";
import { _Issues, _object, _pathText, _show, type ConfigPath, type Field } from "./_checks.ts";
import { _DEFS, _ref } from "./_config_fields.ts";

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
  return v.map((raw, i) => {
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
