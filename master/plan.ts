/**
 * config → plan: who runs where, with which ids. Pure but for one question to
 * the file system, asked through {@linkcode PlanOptions.isFile}: whether a
 * local command without `/` names a file in its directory.
 *
 * How a relative `command` is found, for local instances: in `path` when set
 * (itself relative to `cwd`), else in `cwd` (the config file's directory for
 * the CLI). A command with a `/`, or a Deno script, is always taken from there;
 * a bare name is taken from there when such a file exists, else looked up on
 * the `PATH`. With `binPath`, the interpreter gets that absolute file, or the
 * bare name as written when there is no such file.
 * For remote instances: a Deno script found there is bundled and shipped; a
 * bare name is looked up on the host's `PATH`; any other command is run on the
 * host at the path it resolves to here.
 *
 * @module
 */

import type { WorkerContext } from "../protocol/worker.ts";
import { READY_TIMEOUT } from "./_config_fields.ts";
import type { GroupConfig, ProcessConfig } from "./types.ts";

/** How an instance's program is made. Transports turn it into an argv. */
export type Exec =
  | {
    /** A Deno script, run with `deno run` and exactly `permissions`. */
    kind: "deno";
    /** The Deno executable, if configured; otherwise the transport's own Deno. */
    binPath?: string;
    /** Deno permission flags. */
    permissions: string[];
    /** The script, as an absolute path on the master (or the configured path for remote). */
    script: string;
  }
  | {
    /** Any executable, or a script run by `binPath`. */
    kind: "binary";
    /** Interpreter, if configured. */
    binPath?: string;
    /** The command: absolute, or resolved on the target's PATH / working directory. */
    command: string;
  };

/**
 * Where an instance runs. The launcher hands it to the transport factory of
 * its `type`; instances with the same `key` share one transport.
 */
export interface Target {
  /** The process config's `type`: which transport factory serves it. */
  readonly type: ProcessConfig["type"];
  /**
   * Same key ⇒ same transport: `local` for every local instance, and
   * `remote/<groupIndex>/<processIndex>/<host>` for a remote one (one SSH
   * session per group, process config and host).
   */
  readonly key: string;
  /** The host, as configured (`localhost` for local). */
  readonly host: string;
  /** The process config the instance comes from (how to reach the host, for remote ones). */
  readonly config: ProcessConfig;
}

/** One instance, fully resolved. */
export interface InstanceSpec {
  /** Unique across all groups, 1…N in launch order. */
  id: number;
  /** Rank within the group, 1…groupCount. */
  groupId: number;
  /** Instances in the group across all hosts. */
  groupCount: number;
  /** Group name. */
  group: string;
  /** Host name (`localhost` for local). */
  host: string;
  /** `command/id/groupId`, e.g. `script1.ts/1/1`, used in log lines. */
  label: string;
  /** Where it runs. */
  target: Target;
  /** `groupIndex/processIndex/host`: instances with the same slot are scaled together. */
  slot: string;
  /** What it runs. */
  exec: Exec;
  /** Working directory, if configured. */
  cwd?: string;
  /** Extra environment variables (the protocol's included). */
  env: Record<string, string>;
  /** Nice value, if configured. */
  priority?: number;
  /** Seconds of silence before it counts as hung; 0 = never. */
  timeout: number;
  /** Ready only once it says `@distarch/1 ready` (its group's `waitReady`). */
  waitReady: boolean;
  /** Seconds a `waitReady` instance has to say it is ready. */
  readyTimeout: number;
  /** The first line written to its stdin. */
  context: WorkerContext;
}

const DENO_SCRIPT = /\.(ts|js|mjs|mts|tsx|jsx)$/;

/** True when `command` is run with Deno. */
export function isDenoScript(command: string): boolean {
  return DENO_SCRIPT.test(command);
}

function basename(path: string): string {
  const parts = path.split("/");
  return parts[parts.length - 1] || path;
}

function hostsOf(p: ProcessConfig): string[] {
  return p.type === "local" ? ["localhost"] : p.hosts;
}

/**
 * A POSIX path without `.` segments, repeated or trailing slashes, and with
 * each `..` applied to the segment before it (lexically, as `path.normalize`).
 *
 * @example
 * ```ts
 * import { normalizePath } from "./plan.ts";
 * normalizePath("/app/./bin//../w.sh"); // "/app/w.sh"
 * ```
 */
export function normalizePath(path: string): string {
  const abs = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== "..") out.push(part);
    else if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else if (!abs) out.push("..");
  }
  const joined = out.join("/");
  return abs ? `/${joined}` : joined || ".";
}

/** The directory `path` names, relative to `cwd` unless absolute, normalised. */
function resolveDir(path: string, cwd: string): string {
  return normalizePath(path.startsWith("/") ? path : `${cwd}/${path}`);
}

/** Where a relative `command` is found: in `path` (itself relative to `cwd`), else in `cwd`. */
export function resolveScript(command: string, path: string | undefined, cwd: string): string {
  if (command.startsWith("/")) return normalizePath(command);
  return normalizePath(`${path === undefined ? cwd : resolveDir(path, cwd)}/${command}`);
}

/** Options of {@linkcode plan}. */
export interface PlanOptions {
  /** Default silence timeout in seconds. @default {30} */
  timeout?: number;
  /** Directory relative paths are resolved against. @default {Deno.cwd()} */
  cwd?: string;
  /**
   * Whether `path` (absolute) is a file: decides if a local command without
   * `/` is the file in its directory or a program on the PATH.
   * @default {a `Deno.statSync` check; false when it fails}
   */
  isFile?: (path: string) => boolean;
}

function statIsFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** What a non-Deno `command` becomes in an {@linkcode Exec} (see the module doc). */
function binaryCommand(
  command: string,
  script: string,
  local: boolean,
  path: string | undefined,
  isFile: (path: string) => boolean,
): string {
  if (command.includes("/")) return script;
  if (local) return isFile(script) ? script : command;
  return path !== undefined ? script : command; // remote: as it always was
}

/**
 * Turns validated groups into the list of instances to run, in launch order.
 *
 * @example
 * ```ts
 * import { plan } from "./plan.ts";
 * const specs = plan([{ name: "g", command: "w.ts", processes: [{ type: "local", instances: 2 }] }],
 *   { cwd: "/srv" });
 * // specs.map((s) => s.label) → ["w.ts/1/1", "w.ts/2/2"]
 * ```
 */
export function plan(groups: readonly GroupConfig[], options: PlanOptions = {}): InstanceSpec[] {
  const { timeout: defaultTimeout = 30, cwd = Deno.cwd(), isFile = statIsFile } = options;
  const specs: InstanceSpec[] = [];
  let id = 0;
  groups.forEach((g, gi) => {
    const groupCount = g.processes.reduce((n, p) => n + p.instances * hostsOf(p).length, 0);
    let groupId = 0;
    g.processes.forEach((p, pi) => {
      const binPath = p.binPath ?? g.binPath;
      const path = p.path ?? g.path;
      const priority = p.priority ?? g.priority;
      const timeout = p.timeout ?? g.timeout ?? defaultTimeout;
      const permissions = p.permissions ?? g.permissions ?? [];
      const userEnv = { ...g.env, ...p.env };
      const script = resolveScript(g.command, path, cwd);
      const exec: Exec = isDenoScript(g.command)
        ? { kind: "deno", permissions, script, ...(binPath ? { binPath } : {}) }
        : {
          kind: "binary",
          command: binaryCommand(g.command, script, p.type === "local", path, isFile),
          ...(binPath ? { binPath } : {}),
        };
      for (const host of hostsOf(p)) {
        const slot = `${gi}/${pi}/${host}`;
        // what every instance of this process config on this host shares; ids come from respec()
        const template: InstanceSpec = {
          id: 0,
          groupId: 0,
          groupCount,
          group: g.name,
          host,
          label: "",
          slot,
          target: {
            type: p.type,
            key: p.type === "local" ? "local" : `remote/${slot}`,
            host,
            config: p,
          },
          exec,
          ...(path !== undefined ? { cwd: resolveDir(path, cwd) } : {}),
          env: { ...userEnv, DISTARCH_PROTOCOL: "1" },
          ...(priority !== undefined ? { priority } : {}),
          timeout,
          waitReady: g.waitReady ?? false,
          readyTimeout: g.readyTimeout ?? READY_TIMEOUT,
          context: {
            v: 1,
            id: 0,
            groupId: 0,
            groupCount,
            host,
            group: { name: g.name, command: g.command, params: g.params ?? {} },
          },
        };
        for (let i = 0; i < p.instances; i++) {
          specs.push(respec(template, ++id, ++groupId, groupCount));
        }
      }
    });
  });
  return specs;
}

/**
 * A copy of `spec` for another instance of the same group on the same host,
 * with these ids (used by {@linkcode plan}, and when a group is scaled up).
 */
export function respec(
  spec: InstanceSpec,
  id: number,
  groupId: number,
  groupCount: number,
): InstanceSpec {
  return {
    ...spec,
    id,
    groupId,
    groupCount,
    label: `${basename(spec.context.group.command)}/${id}/${groupId}`,
    env: {
      ...spec.env,
      DISTARCH_ID: String(id),
      DISTARCH_GROUP_ID: String(groupId),
      DISTARCH_GROUP_COUNT: String(groupCount),
    },
    context: { ...spec.context, id, groupId, groupCount },
  };
}

/** What {@linkcode rescale} decides. */
export interface Rescaling<T> {
  /** Specs of the instances to add, slot by slot, with the next free ids. */
  added: InstanceSpec[];
  /** The members to stop and remove: on each slot, those with the highest `groupId`. */
  removed: T[];
}

/**
 * How a group goes to `instancesPerHost` instances on each of its slots (a
 * slot is one host of one process config): the members are bucketed by
 * slot; a slot short of instances gets new ones made from its template with
 * the next ids (after `lastId` across all groups, and after the group's
 * highest `groupId`), and a slot with too many loses those with the highest
 * `groupId`. New instances count `slots × instancesPerHost` in the group.
 *
 * @example
 * ```ts
 * import { plan, rescale } from "./plan.ts";
 * const specs = plan([{ name: "G", command: "w.ts", processes: [{ type: "local", instances: 2 }] }]);
 * const templates = new Map([[specs[0]!.slot, specs[0]!]]);
 * const { added, removed } = rescale(templates, specs.map((spec) => ({ spec })), {
 *   instancesPerHost: 3,
 *   lastId: 2,
 * });
 * console.log(added.map((s) => s.label), removed.length); // ["w.ts/3/3"] 0
 * ```
 */
export function rescale<T extends { readonly spec: InstanceSpec }>(
  templates: ReadonlyMap<string, InstanceSpec>,
  members: readonly T[],
  options: {
    /** The instances wanted on each slot. */
    instancesPerHost: number;
    /** The highest id in use, in any group. */
    lastId: number;
  },
): Rescaling<T> {
  const { instancesPerHost, lastId } = options;
  const slots = new Map<string, T[]>([...templates.keys()].map((slot) => [slot, []]));
  for (const m of members) slots.get(m.spec.slot)!.push(m);
  const groupCount = slots.size * instancesPerHost;
  let id = lastId;
  let groupId = Math.max(0, ...members.map((m) => m.spec.groupId));
  const added: InstanceSpec[] = [];
  const removed: T[] = [];
  for (const [slot, list] of slots) {
    list.sort((a, b) => a.spec.groupId - b.spec.groupId);
    const template = templates.get(slot)!;
    for (let n = list.length; n < instancesPerHost; n++) {
      added.push(respec(template, ++id, ++groupId, groupCount));
    }
    removed.push(...list.slice(instancesPerHost));
  }
  return { added, removed };
}
