/**
 * The format of the master's state file (`master/_state.ts`): its types, and
 * a check written by hand, a walk over the parsed JSON that reports the first
 * problem with its field path, e.g.
 * `agents[0].instances[2].pid: must be a positive integer`.
 * Unknown fields are problems too, so a file from another program or version
 * is not half-read.
 *
 * @module
 */

/** Identifies how to reach an agent's socket through the connector (see master/transports/_upload.ts connectCommand). */
export interface ConnectRecord {
  /** The agent bundle's cache entry. */
  agent: { name: string; hash: string };
  /** The Deno runtime on the host: a command name, or a cache entry. */
  runtime: string | { name: string; hash: string };
}

/** One instance an agent runs, as the master last knew it. */
export interface InstanceRecord {
  /** Instance id (InstanceSpec.id), a positive integer. */
  id: number;
  /** The agent's key for it, a positive integer. */
  key: number;
  /** Its process id on its host. */
  pid: number;
  /** When its current run started, in ms since the epoch. */
  startedAt: number;
  /** How many times it was started. */
  runs: number;
  /** How many of those runs were restarts. */
  restarts: number;
  /** Whether it was ready. */
  ready: boolean;
  /** Its group's name. */
  group: string;
  /** What it runs (a digest of its spec): a new master adopts it only when its own spec has the same. */
  spec: string;
}

/** One host agent of the run and its instances. */
export interface AgentRecord {
  /** The Target.key of its transport. */
  target: string;
  /** Host name as configured ("localhost" for the local agent). */
  host: string;
  /** `<run-id>/<agent-id>`, each 4 to 64 lowercase hex digits. */
  socket: string;
  /** How to connect to its socket. */
  connect: ConnectRecord;
  /** The instances it runs. */
  instances: InstanceRecord[];
}

/** What `state.json` holds (version 1). */
export interface RunState {
  /** Format version. */
  v: 1;
  /** The run's id: 16 hex digits. */
  runId: string;
  /** The secret agents of this run check: 64 hex digits. */
  secret: string;
  /** The master that wrote it: pid, `/proc` start time in ticks (null when unknown), ms since the epoch. */
  master: { pid: number; startTicks: number | null; startedAt: number };
  /** Seconds an agent keeps its instances without a master, >= 0. */
  adoptWindow: number;
  /** The run's agents. */
  agents: AgentRecord[];
}

/** A field's check: a problem (without the path) or undefined when it is fine. */
type Check = (value: unknown, path: string) => string | undefined;

const HEX = (len: number) => new RegExp(`^[0-9a-f]{${len}}$`);
const SOCKET = /^[0-9a-f]{4,64}\/[0-9a-f]{4,64}$/;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function at(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

const positiveInt: Check = (v, p) =>
  Number.isSafeInteger(v) && (v as number) > 0 ? undefined : `${p}: must be a positive integer`;
const count: Check = (v, p) =>
  Number.isSafeInteger(v) && (v as number) >= 0
    ? undefined
    : `${p}: must be a non-negative integer`;
const time: Check = (v, p) =>
  typeof v === "number" && Number.isFinite(v) && v >= 0
    ? undefined
    : `${p}: must be a time in ms since the epoch (a non-negative number)`;
const boolean: Check = (v, p) => typeof v === "boolean" ? undefined : `${p}: must be a boolean`;
const text: Check = (v, p) =>
  typeof v === "string" && v !== "" ? undefined : `${p}: must be a non-empty string`;

function pattern(re: RegExp, what: string): Check {
  return (v, p) => typeof v === "string" && re.test(v) ? undefined : `${p}: must be ${what}`;
}

function nullable(check: Check): Check {
  return (v, p) => {
    const problem = v === null ? undefined : check(v, p);
    return problem === undefined ? undefined : `${problem} or null`;
  };
}

function either(a: Check, b: Check, what: string): Check {
  return (v, p) =>
    a(v, p) === undefined || b(v, p) === undefined ? undefined : `${p}: must be ${what}`;
}

/** An object with exactly `fields` (all required); the first problem wins. */
function object(fields: Record<string, Check>): Check {
  return (v, p) => {
    if (!isObject(v)) return `${p || "the state"}: must be an object`;
    for (const key of Object.keys(v)) {
      if (!Object.hasOwn(fields, key)) return `${at(p, key)}: unknown field`;
    }
    for (const [key, check] of Object.entries(fields)) {
      if (!Object.hasOwn(v, key)) return `${at(p, key)}: missing`;
      const problem = check(v[key], at(p, key));
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
}

function array(item: Check): Check {
  return (v, p) => {
    if (!Array.isArray(v)) return `${p}: must be an array`;
    for (let i = 0; i < v.length; i++) {
      const problem = item(v[i], `${p}[${i}]`);
      if (problem !== undefined) return problem;
    }
    return undefined;
  };
}

const artifact = object({ name: text, hash: pattern(HEX(64), "64 hex digits (a SHA-256)") });

const instance = object({
  id: positiveInt,
  key: positiveInt,
  pid: positiveInt,
  startedAt: time,
  runs: count,
  restarts: count,
  ready: boolean,
  group: text,
  spec: text,
});

const agent = object({
  target: text,
  host: text,
  socket: pattern(SOCKET, '"<run-id>/<agent-id>", each 4 to 64 lowercase hex digits'),
  connect: object({
    agent: artifact,
    runtime: either(text, artifact, "a non-empty string or { name, hash }"),
  }),
  instances: array(instance),
});

const runState = object({
  v: (v, p) => v === 1 ? undefined : `${p}: must be 1`,
  runId: pattern(HEX(16), "16 lowercase hex digits"),
  secret: pattern(HEX(64), "64 lowercase hex digits"),
  master: object({ pid: positiveInt, startTicks: nullable(count), startedAt: time }),
  adoptWindow: (v, p) =>
    typeof v === "number" && Number.isFinite(v) && v >= 0
      ? undefined
      : `${p}: must be a number of seconds >= 0`,
  agents: array(agent),
});

/**
 * The first problem of `value` as a run state (`"<field path>: <problem>"`),
 * or undefined when it is one. A `v` other than 1 is reported first, as a
 * version this distarch does not read.
 *
 * @example
 * ```ts
 * import { stateProblem } from "./_state_check.ts";
 * stateProblem({ v: 2 }); // "it has version 2; this distarch reads version 1"
 * ```
 */
export function stateProblem(value: unknown): string | undefined {
  if (isObject(value) && Object.hasOwn(value, "v") && value.v !== 1) {
    return `it has version ${JSON.stringify(value.v)}; this distarch reads version 1`;
  }
  return runState(value, "");
}
