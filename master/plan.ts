/**
 * config → plan: who runs where, with which ids. Pure but for one question to
 * the file system, asked through {@linkcode PlanOptions.isFile}: whether a
 * local command without `/` names a file in its directory (how a command is
 * found: see `_paths.ts`).
 *
 * @module
 */

import type { WorkerContext } from "../protocol/worker.ts";
import { READY_TIMEOUT } from "./_config_fields.ts";
import { binaryCommand, isDenoScript, resolveDir, resolveScript, statIsFile } from "./_paths.ts";
import { respec } from "./_respec.ts";
import { remoteTargetKey } from "./_target_key.ts";
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
 * its `type`; instances with the same `key` share one transport, made from
 * the first of their targets it meets: a factory reads only what the key is
 * made of (for SSH: the host, the ssh arguments, the agent's runtime), never
 * anything of one group.
 */
export interface Target {
  /** The process config's `type`: which transport factory serves it. */
  readonly type: ProcessConfig["type"];
  /**
   * Same key ⇒ same transport: `local` for every local instance, and for a
   * remote one {@linkcode remoteTargetKey} of its host and how it is reached
   * (one SSH session and agent per host for every group that reaches it the
   * same way).
   */
  readonly key: string;
  /** The host, as configured (`localhost` for local). */
  readonly host: string;
  /**
   * The process config the instance comes from (how to reach the host, for
   * remote ones). Targets with one key may come from different process
   * configs, which agree on everything the key is made of.
   */
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

function hostsOf(p: ProcessConfig): string[] {
  return p.type === "local" ? ["localhost"] : p.hosts;
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
            key: p.type === "local" ? "local" : remoteTargetKey(host, {
              username: p.username,
              privateKey: p.privateKey,
              port: p.port,
              sshOptions: p.sshOptions,
              // the runtime the agent runs on: a Deno worker's binPath (another binPath is an
              // interpreter the agent starts, not its own runtime)
              binPath: exec.kind === "deno" ? exec.binPath : undefined,
            }),
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
