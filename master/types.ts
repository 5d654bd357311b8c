/**
 * Configuration types of the master: groups, process configs, launcher options.
 * These are plain objects; {@linkcode validateGroups} (config.ts) checks them.
 *
 * @module
 */

import type { Level } from "../protocol/worker.ts";

/** Settings a group gives its process configs; a process config may override each one. */
export interface Settings {
  /**
   * The runtime or binary that runs `command`. For a `.ts`/`.js` command, the
   * Deno executable; for anything else, an interpreter such as `python3`.
   * @default {Deno.execPath() locally; for a remote host, a Deno uploaded by the master}
   */
  binPath?: string;
  /** Working directory of the instances; a relative `command` is resolved against it. */
  path?: string;
  /** Nice value (-20…19) the instances run at. */
  priority?: number;
  /**
   * Seconds of silence after which an instance counts as hung; 0 disables.
   * @default {the launcher's timeout, 30}
   */
  timeout?: number;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /**
   * Deno permission flags for Deno scripts, in Deno's own names, e.g.
   * `["--allow-read=/data", "--allow-net"]`. A Deno worker gets exactly these.
   * @default {[] (no permission at all)}
   */
  permissions?: string[];
}

/** Instances on the machine of the master. */
export interface LocalProcessConfig extends Settings {
  /** Discriminant. */
  type: "local";
  /** How many instances to run (at least 1). */
  instances: number;
}

/** Instances on remote hosts, reached with the system OpenSSH client. */
export interface RemoteProcessConfig extends Settings {
  /** Discriminant. */
  type: "remote";
  /** Hosts (names, `~/.ssh/config` aliases or addresses); not empty. */
  hosts: string[];
  /** How many instances to run on each host (at least 1). */
  instances: number;
  /** Login user. @default {as ~/.ssh/config says} */
  username?: string;
  /** Identity file. @default {as ~/.ssh/config says} */
  privateKey?: string;
  /** SSH port. @default {as ~/.ssh/config says} */
  port?: number;
  /** Extra OpenSSH `-o` options, e.g. `{ StrictHostKeyChecking: "accept-new" }`. */
  sshOptions?: Record<string, string>;
}

/** Either kind of process config. */
export type ProcessConfig = LocalProcessConfig | RemoteProcessConfig;

/** A group: one command run as many instances. */
export interface GroupConfig extends Settings {
  /** Unique, non-empty name. */
  name: string;
  /** A `.ts`/`.js` script run with Deno, or any executable. */
  command: string;
  /** Params every instance receives (JSON-serialisable). @default {{}} */
  params?: Record<string, unknown>;
  /** Where and how many instances run. */
  processes: ProcessConfig[];
  /**
   * An instance counts as started only once it said `@distarch/1 ready`
   * (`h.ready()`); one that does not within `readyTimeout` is killed and
   * counts as a failed start. Without it, an instance is ready as soon as it
   * started. @default {false}
   */
  waitReady?: boolean;
  /** Seconds a `waitReady` instance has to say it is ready. @default {30} */
  readyTimeout?: number;
  /**
   * Groups whose every instance, on every host, must be ready before this
   * group's instances start; they stop after this group. No cycles.
   * @default {[]}
   */
  dependsOn?: string[];
}

/** When an instance that ended is started again. */
export type RestartPolicy = "on-failure" | "always" | "never";

/** Options of the launcher besides `logger` and `events`. */
export interface LaunchOptions {
  /** Default seconds of silence before an instance counts as hung; 0 disables. @default {30} */
  timeout?: number;
  /** Consecutive hangs after which an instance is stopped for good. @default {3} */
  maxProcessTimeouts?: number;
  /** Seconds after which everything is stopped gracefully; 0 = no limit. @default {0} */
  maxRunningTime?: number;
  /** Restart policy. @default {"on-failure"} */
  restart?: RestartPolicy;
  /**
   * Restarts after failed runs (a crash, a hang, a failed start) before an
   * instance is given up: with 5, it is restarted after each of its first 5
   * failed runs in a row and given up after the 6th. A run that lasted
   * `backoffReset` seconds starts the count again. @default {5}
   */
  maxRestarts?: number;
  /** Seconds between SIGTERM and SIGKILL when stopping. @default {10} */
  gracePeriod?: number;
  /** First restart delay in seconds; doubles each failure, with jitter. @default {1} */
  backoffInitial?: number;
  /** Longest restart delay in seconds. @default {60} */
  backoffMax?: number;
  /** Seconds an instance must stay up for its failure count to reset. @default {30} */
  backoffReset?: number;
  /** Seconds between two `check` ticks. @default {1} */
  checkInterval?: number;
  /**
   * Seconds without a sign of life after which an SSH link counts as lost:
   * the remote agent then stops its instances, the master reports the host
   * and reconnects. ssh keepalives are sent every third of it.
   * @default {10}
   */
  sshLease?: number;
  /**
   * Seconds an agent keeps its instances running once its master is gone:
   * a lost SSH session (the ssh client killed, a connection reset, a network
   * blip), which the master re-attaches, or the master itself gone (SIGKILL,
   * crash, `leave()`), when a new master with the same `stateDir` adopts
   * them (with a `stateDir`, local instances run under a local agent too).
   * Same pids, and every line they printed in between, once. After the
   * window, with no master, the agent stops them. 0 = the agent stops them
   * as soon as it notices the loss (`sshLease`), and local instances are the
   * master's own children.
   * @default {30}
   */
  adoptWindow?: number;
  /** Service mode: start with every group suspended; `run()` resolves only on `stop()`. @default {false} */
  service?: boolean;
  /**
   * Longest line relayed as one record, in bytes: a longer line becomes
   * consecutive records marked as parts (`part`, `lastPart`), nothing dropped.
   * @default {65536}
   */
  maxLineBytes?: number;
}

/** One log record, from the launcher itself or relayed from an instance. */
export interface LogRecord {
  /** Severity. */
  level: Level;
  /** The text (one line). */
  message: string;
  /** Milliseconds since the epoch. */
  time: number;
  /** Group name, when the record concerns a group. */
  group?: string;
  /** Host name (`localhost` for local instances). */
  host?: string;
  /** `command/id/groupId` of the instance, when it concerns one. */
  instance?: string;
  /** Instance id. */
  id?: number;
  /** Instance rank in its group. */
  groupId?: number;
  /** Context a worker gave with `h.logger` or the launcher added. */
  context?: Record<string, unknown>;
  /** Set when a line longer than `maxLineBytes` was split: this record's rank (1…). */
  part?: number;
  /** With `part`: true on the last part of the line. */
  lastPart?: boolean;
}

/** Where the launcher sends log records (default: text lines on stdout, see log.ts). */
export interface Logger {
  /** Receives one record. Must not throw. */
  log(record: LogRecord): void;
  /**
   * Optional backpressure: undefined while the logger has room; else a
   * promise that settles once it caught up. Relayed output is not read
   * while it is pending.
   */
  backpressure?(): Promise<void> | undefined;
}
