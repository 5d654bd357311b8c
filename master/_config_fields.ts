/**
 * The field tables of the groups: every key a group and a process config
 * accept, with its rule and description (the launcher options are in
 * `_launch_rules.ts`). The validator (config.ts) runs them; the JSON Schema
 * (config_schema.ts) is generated from them.
 *
 * @module
 */

import {
  _bool,
  _const,
  _doc,
  _int,
  _isPlainObject,
  _json,
  _list,
  _map,
  _num,
  _object,
  _pathText,
  _str,
  type Field,
  type Fields,
} from "./_checks.ts";

/**
 * The most instances one process config may ask for (per host for a remote
 * one): each instance costs the master buffers, timers and a process, and a
 * typo such as `instances: 1000000000` must not exhaust its memory.
 */
export const MAX_INSTANCES = 10_000;

/**
 * The largest `params` of a group, in bytes of JSON: every instance receives
 * them on its first stdin line, which the master builds in memory per instance.
 */
export const MAX_PARAMS_BYTES = 16 * 1024 * 1024;

/** An object with its fields: one `$defs` entry of the schema. */
export interface _Table {
  /** What the object is. */
  description: string;
  /** Its fields. */
  fields: Fields;
  /** Keys that must be present. */
  required: readonly string[];
  /** Why a known-elsewhere key is wrong here, by key (instead of "did you mean"). */
  hints?: Record<string, string>;
}

/** A reference to one of {@linkcode _DEFS}. */
export function _ref(name: "group" | "localProcess" | "remoteProcess"): { $ref: string } {
  return { $ref: `#/$defs/${name}` };
}

/** Control characters (C0, DEL, C1) and the Unicode line separators, as a class body. */
const _CONTROL = "\\u0000-\\u001f\\u007f-\\u009f\\u2028\\u2029";

/** One item of a permission flag value: no whitespace, comma or shell metacharacter. */
const _ITEM = "[^\\s,;&|$`'\"<>()]+";
const _PERMISSION =
  `^(-A|--allow-all|--(allow|deny)-(read|write|net|env|sys|run|ffi|import)(=${_ITEM}(,${_ITEM})*)?)$`;
const _PERMISSION_WHAT =
  "must be a Deno permission flag such as --allow-read, --allow-net=host:443 or --deny-env=X";

const _SETTINGS: Fields = {
  binPath: _doc(_str(), "Runtime or binary that runs `command` (default: Deno for .ts/.js)."),
  path: _doc(_str(), "Working directory; a relative `command` is resolved against it."),
  priority: _doc(_int(-20, 19), "Nice value the instances run at."),
  timeout: _doc(_num(0), "Seconds of silence after which an instance counts as hung; 0 disables."),
  env: _doc(
    _map(
      "^[A-Za-z_][A-Za-z0-9_]*$",
      "is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*)",
      "^[^\\u0000]*$",
      "must not contain a NUL character",
    ),
    "Extra environment variables.",
  ),
  permissions: _doc(
    _list(_str(_PERMISSION_WHAT, _PERMISSION, _PERMISSION_WHAT), false),
    'Deno permission flags, e.g. ["--allow-read=/data", "--allow-net"].',
  ),
};

const _HOST = _str(
  "must be a non-empty string",
  `^[^-\\s${_CONTROL}][^\\s${_CONTROL}]*$`,
  "must be a host name without whitespace or control characters, not starting with '-'",
);
const _HOST_LIST = _list(_HOST, true);

/** Hosts: a non-empty list of host names, each at most once. */
const _hosts: Field = {
  check: (v, path, issues) => {
    const hosts = _HOST_LIST.check(v, path, issues);
    if (!Array.isArray(hosts)) return undefined;
    const seen = new Map<unknown, number>();
    hosts.forEach((h, i) => {
      const first = seen.get(h);
      if (h !== undefined && first !== undefined) {
        issues.fail([...path, i], `duplicate host, already at ${_pathText([...path, first])}`, h);
      }
      if (!seen.has(h)) seen.set(h, i);
    });
    return hosts;
  },
  schema: { ..._HOST_LIST.schema, uniqueItems: true },
};

function _instances(description: string): Field {
  return _doc(_int(1, MAX_INSTANCES), description);
}

const _REMOTE_ONLY: Fields = {
  hosts: _doc(_hosts, "Hosts (names, ~/.ssh/config aliases or addresses)."),
  username: _doc(
    _str(
      "must be a non-empty string",
      `^[^-\\s@${_CONTROL}][^\\s@${_CONTROL}]*$`,
      "must be a user name without whitespace or '@' and not starting with '-'",
    ),
    "Login user.",
  ),
  privateKey: _doc(_str(), "Identity file."),
  port: _doc(_int(1, 65535), "SSH port."),
  sshOptions: _doc(
    _map(
      "^[A-Za-z0-9]+$",
      "is not an OpenSSH option name (letters and digits only)",
      "^[^\\r\\n\\u0000]*$",
      "must not contain a newline",
    ),
    'Extra OpenSSH -o options, e.g. { "StrictHostKeyChecking": "accept-new" }.',
  ),
};

/** Keys a group takes and a process config does not. */
const _GROUP_ONLY_HINTS: Record<string, string> = Object.fromEntries(
  ["waitReady", "readyTimeout", "dependsOn"].map((k) => [k, `"${k}" is a setting of the group`]),
);

const _TYPE = "Kind of process config.";
const _LOCAL: _Table = {
  description: "Instances on the machine of the master.",
  fields: {
    type: _doc(_const("local"), _TYPE),
    instances: _instances("How many instances."),
    ..._SETTINGS,
  },
  required: ["type", "instances"],
  hints: {
    ...Object.fromEntries(
      Object.keys(_REMOTE_ONLY).map((k) => [k, `"${k}" is only for processes of type "remote"`]),
    ),
    ..._GROUP_ONLY_HINTS,
  },
};
const _REMOTE: _Table = {
  description: "Instances on remote hosts, reached with OpenSSH.",
  fields: {
    type: _doc(_const("remote"), _TYPE),
    instances: _instances("Instances per host."),
    ..._SETTINGS,
    ..._REMOTE_ONLY,
  },
  required: ["type", "hosts", "instances"],
  hints: _GROUP_ONLY_HINTS,
};

/** A process config: local or remote, told apart by `type`. */
const _process: Field = {
  check: (v, path, issues) => {
    if (!_isPlainObject(v)) return issues.fail(path, "must be an object", v);
    const table = v.type === "local" ? _LOCAL : v.type === "remote" ? _REMOTE : undefined;
    if (table) return _object(v, path, issues, table.fields, table.required, table.hints);
    if (v.type === undefined) {
      return issues.add([...path, "type"], 'is required ("local" or "remote")', undefined);
    }
    return issues.fail([...path, "type"], 'must be "local" or "remote"', v.type);
  },
  schema: { oneOf: [_ref("localProcess"), _ref("remoteProcess")] },
};

/** Params: a JSON object of at most {@linkcode MAX_PARAMS_BYTES}. */
const _params: Field = {
  check: (v, path, issues) => {
    if (!_isPlainObject(v)) return issues.fail(path, "must be an object", v);
    const before = issues.list.length;
    const out = _json(v, path, issues, []);
    if (issues.list.length > before) return out;
    const json = JSON.stringify(out); // at most 3 UTF-8 bytes a UTF-16 unit: count only if needed
    const bytes = json.length * 3 <= MAX_PARAMS_BYTES ? 0 : _utf8Length(json);
    if (bytes <= MAX_PARAMS_BYTES) return out;
    const mib = (n: number) => `${(n / 2 ** 20).toFixed(n % 2 ** 20 === 0 ? 0 : 1)} MiB`;
    return issues.add(
      path,
      `is ${mib(bytes)} as JSON, over the limit of ${mib(MAX_PARAMS_BYTES)}: every instance ` +
        "gets its params on one stdin line; pass large data as a file path instead",
      v,
    );
  },
  schema: { type: "object" },
};

/** The UTF-8 length of `s`, without encoding it. */
function _utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) (n += 4, i++);
    else n += 3;
  }
  return n;
}

/** Seconds a `waitReady` instance has to say it is ready, when `readyTimeout` is not set. */
export const READY_TIMEOUT = 30;

const _NAME_PATTERN = `^[^${_CONTROL}]+$`;
const _NAME_WHAT =
  "must not contain control characters (newline, tab, escape…); use printable characters only";
const _DEPENDS = _list(_str("must be a group name", _NAME_PATTERN, _NAME_WHAT), false);

/** dependsOn: a list of group names, each at most once (whether they exist is `_groups`' rule). */
const _dependsOn: Field = {
  check: (v, path, issues) => {
    const names = _DEPENDS.check(v, path, issues);
    if (!Array.isArray(names)) return undefined;
    names.forEach((name, i) => {
      const first = names.indexOf(name);
      if (name !== undefined && first < i) {
        issues.fail([...path, i], `listed twice, already at ${_pathText([...path, first])}`, name);
      }
    });
    return names;
  },
  schema: { ..._DEPENDS.schema, uniqueItems: true },
};

const _GROUP: _Table = {
  description: "A group: one command run as many instances.",
  fields: {
    name: _doc(
      _str("must be a non-empty string", _NAME_PATTERN, _NAME_WHAT),
      "Unique name of the group, without control characters.",
    ),
    command: _doc(
      _str(),
      "A .ts/.js script run with Deno, or any executable. A relative one is found in `path`, " +
        "else next to the config file; a bare name not found there comes from the PATH.",
    ),
    params: _doc(_params, "JSON params every instance receives."),
    processes: _doc(_list(_process, true), "Where and how many instances run."),
    ..._SETTINGS,
    waitReady: _doc(
      { ..._bool, schema: { ..._bool.schema, default: false } },
      "An instance counts as started only once it printed `@distarch/1 ready`; " +
        "one that does not within readyTimeout is killed and counts as a failed start.",
    ),
    readyTimeout: _doc(
      { ..._num(0, true), schema: { ..._num(0, true).schema, default: READY_TIMEOUT } },
      "Seconds a waitReady instance has to say it is ready (> 0).",
    ),
    dependsOn: _doc(
      _dependsOn,
      "Groups whose every instance must be ready, on every host, before this group starts; " +
        "they stop after it.",
    ),
  },
  required: ["name", "command", "processes"],
  hints: Object.fromEntries(
    ["type", "instances", ...Object.keys(_REMOTE_ONLY)].map(
      (k) => [k, `"${k}" belongs in an entry of "processes"`],
    ),
  ),
};

/** The objects the schema names in `$defs`, by name. */
export const _DEFS: Readonly<Record<"group" | "localProcess" | "remoteProcess", _Table>> = {
  group: _GROUP,
  localProcess: _LOCAL,
  remoteProcess: _REMOTE,
};
