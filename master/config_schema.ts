/**
 * A JSON Schema (draft 2020-12) of a configuration file, for editor
 * autocompletion. {@linkcode validateConfig} (config.ts) is the authority;
 * this schema mirrors its rules.
 *
 * @module
 */

type Schema = Record<string, unknown>;

const _ITEM = "[^\\s,;&|$`'\"<>()]+";
const _PERMISSION =
  `^(-A|--allow-all|--(allow|deny)-(read|write|net|env|sys|run|ffi|import)(=${_ITEM}(,${_ITEM})*)?)$`;

const _text = (description: string): Schema => ({ type: "string", minLength: 1, description });
const _int = (description: string, minimum: number, maximum?: number): Schema => ({
  type: "integer",
  minimum,
  ...(maximum === undefined ? {} : { maximum }),
  description,
});
const _num = (description: string, minimum = 0): Schema => ({
  type: "number",
  minimum,
  description,
});
const _strings = (description: string, keyPattern: string, valuePattern: string): Schema => ({
  type: "object",
  propertyNames: { pattern: keyPattern },
  additionalProperties: { type: "string", pattern: valuePattern },
  description,
});

function _settings(): Schema {
  return {
    binPath: _text("Runtime or binary that runs `command` (default: Deno for .ts/.js)."),
    path: _text("Working directory; a relative `command` is resolved against it."),
    priority: _int("Nice value the instances run at.", -20, 19),
    timeout: _num("Seconds of silence after which an instance counts as hung; 0 disables."),
    env: _strings("Extra environment variables.", "^[A-Za-z_][A-Za-z0-9_]*$", "^[^\\u0000]*$"),
    permissions: {
      type: "array",
      items: { type: "string", pattern: _PERMISSION },
      description: 'Deno permission flags, e.g. ["--allow-read=/data", "--allow-net"].',
    },
  };
}

function _process(type: "local" | "remote", extra: Schema): Schema {
  return {
    type: "object",
    description: type === "local"
      ? "Instances on the machine of the master."
      : "Instances on remote hosts, reached with OpenSSH.",
    properties: {
      type: { const: type, description: "Kind of process config." },
      instances: _int(type === "local" ? "How many instances." : "Instances per host.", 1),
      ...extra,
      ..._settings(),
    },
    required: type === "local" ? ["type", "instances"] : ["type", "hosts", "instances"],
    additionalProperties: false,
  };
}

function _remoteOnly(): Schema {
  return {
    hosts: {
      type: "array",
      minItems: 1,
      uniqueItems: true,
      items: { type: "string", pattern: "^[^-\\s][^\\s]*$" },
      description: "Hosts (names, ~/.ssh/config aliases or addresses).",
    },
    username: { type: "string", pattern: "^[^-\\s@][^\\s@]*$", description: "Login user." },
    privateKey: _text("Identity file."),
    port: _int("SSH port.", 1, 65535),
    sshOptions: _strings(
      'Extra OpenSSH -o options, e.g. { "StrictHostKeyChecking": "accept-new" }.',
      "^[A-Za-z0-9]+$",
      "^[^\\r\\n\\u0000]*$",
    ),
  };
}

function _group(): Schema {
  return {
    type: "object",
    description: "A group: one command run as many instances.",
    properties: {
      name: _text("Unique name of the group."),
      command: _text("A .ts/.js script run with Deno, or any executable."),
      params: { type: "object", description: "JSON params every instance receives." },
      processes: {
        type: "array",
        minItems: 1,
        items: { oneOf: [{ $ref: "#/$defs/localProcess" }, { $ref: "#/$defs/remoteProcess" }] },
        description: "Where and how many instances run.",
      },
      ..._settings(),
    },
    required: ["name", "command", "processes"],
    additionalProperties: false,
  };
}

function _launchOptions(): Schema {
  return {
    timeout: _num("Default seconds of silence before an instance counts as hung; 0 disables."),
    maxProcessTimeouts: _int("Consecutive hangs after which an instance is stopped.", 0),
    maxRunningTime: _num("Seconds after which everything is stopped; 0 = no limit."),
    restart: {
      enum: ["on-failure", "always", "never"],
      description: "When an instance that ended is started again.",
    },
    maxRestarts: _int("Consecutive failed runs after which an instance is given up.", 0),
    gracePeriod: _num("Seconds between SIGTERM and SIGKILL when stopping."),
    backoffInitial: _num("First restart delay in seconds; doubles each failure."),
    backoffMax: _num("Longest restart delay in seconds."),
    backoffReset: _num("Seconds an instance must stay up for its failure count to reset."),
    checkInterval: {
      type: "number",
      exclusiveMinimum: 0,
      description: "Seconds between two check ticks.",
    },
    sshLease: {
      type: "number",
      exclusiveMinimum: 0,
      description: "Seconds without a sign of life after which an SSH link counts as lost.",
    },
    service: { type: "boolean", description: "Start with every group suspended." },
    maxLineBytes: _int("Longest line relayed as one record; longer ones become parts.", 1024),
  };
}

/**
 * The JSON Schema of a configuration file `{ groups: [...], ...LaunchOptions }`.
 * Write it next to a config and point `$schema` at it for editor completion.
 *
 * @example
 * ```ts
 * import { configSchema } from "./config_schema.ts";
 * const text = JSON.stringify(configSchema(), null, 2);
 * console.log(text.includes('"additionalProperties": false')); // true
 * ```
 */
export function configSchema(): Schema {
  return {
    $schema: "https://json-schema.org/draft/2020-12/schema",
    title: "distarch configuration",
    type: "object",
    properties: {
      $schema: { type: "string", description: "Editor hint; ignored." },
      groups: { type: "array", minItems: 1, items: { $ref: "#/$defs/group" } },
      ..._launchOptions(),
    },
    required: ["groups"],
    additionalProperties: false,
    $defs: {
      group: _group(),
      localProcess: _process("local", {}),
      remoteProcess: _process("remote", _remoteOnly()),
    },
  };
}
