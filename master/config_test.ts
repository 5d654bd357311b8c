import {
  deepStrictEqual as eq,
  match as assertMatch,
  notStrictEqual as assertNotStrictEqual,
  ok as assert,
} from "node:assert/strict";
import {
  ConfigError,
  type ConfigIssue,
  validateConfig,
  validateGroups,
  validateLaunchOptions,
} from "./config.ts";
import { configSchema } from "./config_schema.ts";

// ---------------------------------------------------------------- fixtures

type Obj = Record<string, unknown>;
const local = (extra: Obj = {}): Obj => ({ type: "local", instances: 1, ...extra });
const remote = (extra: Obj = {}): Obj => ({
  type: "remote",
  hosts: ["h1"],
  instances: 1,
  ...extra,
});
const group = (extra: Obj = {}): Obj => ({
  name: "g",
  command: "sleep",
  processes: [local()],
  ...extra,
});
const groups = (...extra: Obj[]) => validateGroups(extra.map(group), { checkFiles: false });

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error("expected a ConfigError");
}
/** The issues `fn` raises; `[]` if it succeeds and `allowValid` is set. */
function issuesOf(fn: () => unknown, allowValid = false): ConfigIssue[] {
  try {
    fn();
  } catch (e) {
    if (e instanceof ConfigError) return e.issues;
    throw e;
  }
  if (allowValid) return [];
  throw new Error("expected a ConfigError");
}

/** The single issue `fn` raises. */
function issueOf(fn: () => unknown): ConfigIssue {
  const issues = issuesOf(fn);
  eq(issues.length, 1, issues.map((i) => `${i.pathText}: ${i.message}`).join("\n"));
  return issues[0]!;
}

/** The single issue of one group with `extra`, as `pathText: message`. */
const lineOf = (extra: Obj): string => {
  const i = issueOf(() => groups(extra));
  return `${i.pathText}: ${i.message}`;
};

const FULL_GROUP = {
  name: "g",
  command: "worker.ts",
  params: { a: [1, "x", null, true, { b: 2.5 }] },
  processes: [
    local({ binPath: "deno", path: "/srv", priority: 5, timeout: 0, env: { A: "1" } }),
    remote({
      hosts: ["h1", "user@h2"],
      instances: 2,
      username: "bob",
      privateKey: "~/.ssh/id",
      port: 2222,
      sshOptions: { StrictHostKeyChecking: "accept-new" },
      permissions: ["--allow-net=a:1,b:2"],
    }),
  ],
  binPath: "/usr/bin/deno",
  path: "work",
  priority: -20,
  timeout: 12.5,
  env: { _X: "", Y2: "v" },
  permissions: ["--allow-read", "--deny-env=SECRET", "-A", "--allow-all"],
  waitReady: true,
  readyTimeout: 5,
  dependsOn: [],
};
const FULL_OPTIONS = {
  timeout: 30,
  maxProcessTimeouts: 3,
  maxRunningTime: 0,
  restart: "on-failure",
  maxRestarts: 5,
  gracePeriod: 10,
  backoffInitial: 1,
  backoffMax: 60,
  backoffReset: 30,
  checkInterval: 0.5,
  sshLease: 10,
  adoptWindow: 0,
  service: false,
  maxLineBytes: 65536,
};

// ---------------------------------------------------------------- round trip

Deno.test("validateGroups() returns a fresh, equal copy of a valid config", () => {
  const input = [FULL_GROUP, { ...FULL_GROUP, name: "h", command: "bin/run" }];
  const out = validateGroups(input, { checkFiles: false });
  eq(out, input);
  assertNotStrictEqual(out[0], input[0]);
  assertNotStrictEqual(out[0]!.params, FULL_GROUP.params);
  assertNotStrictEqual(out[0]!.processes[1], FULL_GROUP.processes[1]);
});

Deno.test("validateGroups() treats an undefined optional key as absent", () => {
  eq(groups({ path: undefined }), [group()]);
});

// ---------------------------------------------------------------- groups

Deno.test("validateGroups() rejects an empty list of groups", () => {
  const e = errorOf(() => validateGroups([]));
  eq(e.path, ["groups"]);
  eq(e.pathText, "groups");
  eq(e.value, []);
  eq(e.message, "groups: must not be empty: there are no groups (got [])");
});

Deno.test("validateGroups() rejects groups that are not an array or not objects", () => {
  eq(
    issueOf(() => validateGroups({ name: "g" })).message,
    'must be an array of groups (got {"name":"g"})',
  );
  const i = issueOf(() => validateGroups([3], { checkFiles: false }));
  eq([i.pathText, i.message, i.value], ["groups[0]", "must be an object (got 3)", 3]);
  eq(issueOf(() => validateGroups([new Map()])).message, "must be an object (got {})");
});

Deno.test("validateGroups() requires name, command and processes", () => {
  const issues = issuesOf(() => validateGroups([{}]));
  eq(issues.map((i) => [i.pathText, i.message, i.value]), [
    ["groups[0].name", "is required", undefined],
    ["groups[0].command", "is required", undefined],
    ["groups[0].processes", "is required", undefined],
  ]);
});

Deno.test("validateGroups() rejects an empty or non-string name and command", () => {
  eq(lineOf({ name: "" }), 'groups[0].name: must be a non-empty string (got "")');
  eq(lineOf({ command: 42 }), "groups[0].command: must be a non-empty string (got 42)");
});

Deno.test("validateGroups() names the later of two groups with the same name", () => {
  const i = issueOf(() => groups({ name: "a" }, { name: "b" }, { name: "a" }));
  eq(i.path, ["groups", 2, "name"]);
  eq(i.message, 'duplicate group name, already used by groups[0] (got "a")');
  eq(i.value, "a");
});

Deno.test("validateGroups() requires a non-empty processes array", () => {
  eq(lineOf({ processes: [] }), "groups[0].processes: must not be empty (got [])");
  eq(lineOf({ processes: {} }), "groups[0].processes: must be an array (got {})");
  eq(lineOf({ processes: [null] }), "groups[0].processes[0]: must be an object (got null)");
});

Deno.test("validateGroups() uses the root option as the path prefix", () => {
  const i = issueOf(() =>
    validateGroups([group({ name: "" })], { root: ["config", "groups"], checkFiles: false })
  );
  eq(i.path, ["config", "groups", 0, "name"]);
  eq(i.pathText, "config.groups[0].name");
});

// ---------------------------------------------------------------- processes

Deno.test("validateGroups() requires a process type of local or remote", () => {
  eq(
    lineOf({ processes: [{ type: "ssh", instances: 1 }] }),
    'groups[0].processes[0].type: must be "local" or "remote" (got "ssh")',
  );
  eq(
    lineOf({ processes: [{ instances: 1 }] }),
    'groups[0].processes[0].type: is required ("local" or "remote")',
  );
});

Deno.test("validateGroups() requires instances to be an integer from 1 to MAX_INSTANCES", () => {
  for (const bad of [0, -1, 1.5, "2", null]) {
    const i = issueOf(() => groups({ processes: [local({ instances: bad })] }));
    eq(i.pathText, "groups[0].processes[0].instances");
    eq(i.message, `must be an integer from 1 to 10000 (got ${JSON.stringify(bad)})`);
    eq(i.value, bad);
  }
  eq(lineOf({ processes: [{ type: "local" }] }), "groups[0].processes[0].instances: is required");
});

Deno.test("validateGroups() names the field path of an empty hosts list", () => {
  const e = errorOf(() => groups({ name: "a" }, { name: "b", processes: [remote({ hosts: [] })] }));
  eq(e.path, ["groups", 1, "processes", 0, "hosts"]);
  eq(e.pathText, "groups[1].processes[0].hosts");
  eq(e.value, []);
  eq(e.message, "groups[1].processes[0].hosts: must not be empty (got [])");
});

Deno.test("validateGroups() rejects host names that could inject ssh options", () => {
  const cases: [unknown, string][] = [
    [
      "-oProxyCommand=x",
      "must be a host name without whitespace or control characters, not starting with '-'",
    ],
    ["a b", "must be a host name without whitespace or control characters, not starting with '-'"],
    ["a\nb", "must be a host name without whitespace or control characters, not starting with '-'"],
    ["", "must be a non-empty string"],
    [7, "must be a non-empty string"],
  ];
  for (const [host, what] of cases) {
    const i = issueOf(() => groups({ processes: [remote({ hosts: ["ok", host] })] }));
    eq(i.path, ["groups", 0, "processes", 0, "hosts", 1]);
    eq(i.message, `${what} (got ${JSON.stringify(host)})`);
  }
  eq(
    lineOf({ processes: [remote({ hosts: "h1" })] }),
    'groups[0].processes[0].hosts: must be an array (got "h1")',
  );
  eq(
    lineOf({ processes: [remote({ hosts: undefined })] }),
    "groups[0].processes[0].hosts: is required",
  );
});

Deno.test("validateGroups() rejects a duplicate host, naming the first one", () => {
  eq(
    lineOf({ processes: [remote({ hosts: ["a", "b", "a"] })] }),
    'groups[0].processes[0].hosts[2]: duplicate host, already at groups[0].processes[0].hosts[0] (got "a")',
  );
});

Deno.test("validateGroups() rejects a username with a leading dash, whitespace or @", () => {
  const what = "must be a user name without whitespace or '@' and not starting with '-'";
  for (const name of ["-l", "a b", "a@b"]) {
    eq(
      lineOf({ processes: [remote({ username: name })] }),
      `groups[0].processes[0].username: ${what} (got ${JSON.stringify(name)})`,
    );
  }
});

Deno.test("validateGroups() checks privateKey and port of a remote process", () => {
  eq(
    lineOf({ processes: [remote({ privateKey: 1 })] }),
    "groups[0].processes[0].privateKey: must be a non-empty string (got 1)",
  );
  for (const port of [0, 65536, 22.5, "22"]) {
    eq(
      lineOf({ processes: [remote({ port })] }),
      `groups[0].processes[0].port: must be an integer from 1 to 65535 (got ${
        JSON.stringify(port)
      })`,
    );
  }
  eq(groups({ processes: [remote({ port: 65535 })] })[0]!.processes[0], remote({ port: 65535 }));
});

Deno.test("validateGroups() checks sshOptions names and values", () => {
  const p = (sshOptions: unknown) => ({ processes: [remote({ sshOptions })] });
  eq(
    lineOf(p({ "Strict-Host": "no" })),
    'groups[0].processes[0].sshOptions["Strict-Host"]: is not an OpenSSH option name (letters and digits only) (got "Strict-Host")',
  );
  eq(
    lineOf(p({ ProxyCommand: "x\nProxyCommand evil" })),
    'groups[0].processes[0].sshOptions.ProxyCommand: must not contain a newline (got "x\\nProxyCommand evil")',
  );
  eq(
    lineOf(p({ Port: 22 })),
    "groups[0].processes[0].sshOptions.Port: must be a string (got 22)",
  );
  eq(lineOf(p(["a"])), 'groups[0].processes[0].sshOptions: must be an object (got ["a"])');
});

// ---------------------------------------------------------------- settings

Deno.test("validateGroups() checks every setting on both the group and a process", () => {
  const cases: [Obj, string, string][] = [
    [{ binPath: "" }, "binPath", 'must be a non-empty string (got "")'],
    [{ path: 3 }, "path", "must be a non-empty string (got 3)"],
    [{ priority: -21 }, "priority", "must be an integer from -20 to 19 (got -21)"],
    [{ priority: 20 }, "priority", "must be an integer from -20 to 19 (got 20)"],
    [{ priority: 1.5 }, "priority", "must be an integer from -20 to 19 (got 1.5)"],
    [{ timeout: -1 }, "timeout", "must be a number ≥ 0 (got -1)"],
    [{ timeout: NaN }, "timeout", "must be a number ≥ 0 (got NaN)"],
    [{ timeout: "5" }, "timeout", 'must be a number ≥ 0 (got "5")'],
    [{ env: [] }, "env", "must be an object (got [])"],
    [{ permissions: "--allow-all" }, "permissions", 'must be an array (got "--allow-all")'],
  ];
  for (const [extra, key, message] of cases) {
    const onGroup = issueOf(() => groups(extra));
    eq([onGroup.pathText, onGroup.message], [`groups[0].${key}`, message]);
    const onProcess = issueOf(() => groups({ processes: [local(), remote(extra)] }));
    eq([onProcess.pathText, onProcess.message], [`groups[0].processes[1].${key}`, message]);
    eq(onProcess.value, extra[key]);
  }
});

Deno.test("validateGroups() accepts the bounds of priority and timeout", () => {
  groups({ priority: -20, timeout: 0 }, { name: "h", priority: 19, timeout: 1e9 });
});

Deno.test("validateGroups() rejects invalid environment variable names and values", () => {
  eq(
    lineOf({ env: { "1X": "a" } }),
    'groups[0].env["1X"]: is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*) (got "1X")',
  );
  eq(
    lineOf({ env: { "A-B": "a" } }),
    'groups[0].env["A-B"]: is not a valid environment variable name ([A-Za-z_][A-Za-z0-9_]*) (got "A-B")',
  );
  eq(lineOf({ env: { A: 1 } }), "groups[0].env.A: must be a string (got 1)");
  eq(
    lineOf({ env: { A: "a\0b" } }),
    'groups[0].env.A: must not contain a NUL character (got "a\\u0000b")',
  );
});

Deno.test("validateGroups() keeps an env key named __proto__ as an own property", () => {
  const out = groups({ env: JSON.parse('{"__proto__":"x"}') });
  eq(Object.keys(out[0]!.env!), ["__proto__"]);
});

Deno.test("validateGroups() accepts Deno permission flags and rejects anything else", () => {
  const good = [
    "--allow-read",
    "--allow-write=/tmp,/data",
    "--allow-net=example.com:443,[::1]:8000",
    "--allow-env=HOME",
    "--allow-sys",
    "--allow-run=git",
    "--allow-ffi",
    "--allow-import",
    "--deny-env=SECRET",
    "--deny-net",
    "-A",
    "--allow-all",
  ];
  eq(groups({ permissions: good })[0]!.permissions, good);
  const bad = [
    "--unstable",
    "; rm -rf /",
    "--allow-read=/a;rm",
    "--allow-read=/a b",
    "--allow-foo",
    "--allow-read=",
    "--allow-all=x",
    "--allow-net=a,",
    "-R",
    "allow-read",
    5,
  ];
  for (const flag of bad) {
    const i = issueOf(() => groups({ permissions: ["--allow-net", flag] }));
    eq(i.pathText, "groups[0].permissions[1]");
    assertMatch(i.message, /^must be a Deno permission flag such as --allow-read/);
    assert(i.message.endsWith(`(got ${JSON.stringify(flag)})`), i.message);
  }
});

// ---------------------------------------------------------------- unknown keys

Deno.test("validateGroups() rejects unknown keys, suggesting the closest known key", () => {
  eq(
    lineOf({ processes: [{ type: "local", instances: 1, instance: 2 }] }),
    'groups[0].processes[0].instance: unknown key (did you mean "instances"?)',
  );
  eq(lineOf({ commnad: "x" }), 'groups[0].commnad: unknown key (did you mean "command"?)');
  eq(lineOf({ Name: "x" }), 'groups[0].Name: unknown key (did you mean "name"?)');
  eq(
    lineOf({ processes: [remote({ private_key: "k" })] }),
    'groups[0].processes[0].private_key: unknown key (did you mean "privateKey"?)',
  );
  const i = issueOf(() => groups({ zzz: 1 }));
  eq(i.path, ["groups", 0, "zzz"]);
  eq(i.value, 1);
  assertMatch(
    i.message,
    /^unknown key \(expected one of: name, command, params, processes, binPath/,
  );
});

Deno.test("validateGroups() says where a misplaced key belongs", () => {
  eq(
    lineOf({ processes: [local({ hosts: ["h"] })] }),
    'groups[0].processes[0].hosts: unknown key ("hosts" is only for processes of type "remote")',
  );
  eq(
    lineOf({ instances: 2 }),
    'groups[0].instances: unknown key ("instances" belongs in an entry of "processes")',
  );
});

// ---------------------------------------------------------------- params

Deno.test("validateGroups() requires params to be a plain object", () => {
  eq(lineOf({ params: [1] }), "groups[0].params: must be an object (got [1])");
  eq(lineOf({ params: "x" }), 'groups[0].params: must be an object (got "x")');
});

Deno.test("validateGroups() names the deep path of a value that is not JSON-serialisable", () => {
  const i = issueOf(() => groups({ params: { a: { b: [1, 2, () => 0] } } }));
  eq(i.path, ["groups", 0, "params", "a", "b", 2]);
  eq(`${i.pathText}: ${i.message}`, "groups[0].params.a.b[2]: not JSON-serialisable (function)");
  eq(typeof i.value, "function");
  class Point {
    x = 1;
  }
  const cases: [unknown, string][] = [
    [Symbol("s"), "symbol"],
    [1n, "bigint"],
    [undefined, "undefined"],
    [NaN, "NaN"],
    [Infinity, "Infinity"],
    [-Infinity, "-Infinity"],
    [new Date(0), "Date instance"],
    [new Map(), "Map instance"],
    [new Point(), "Point instance"],
  ];
  for (const [value, what] of cases) {
    const j = issueOf(() => groups({ params: { list: [value] } }));
    eq([j.pathText, j.message], ["groups[0].params.list[0]", `not JSON-serialisable (${what})`]);
  }
  eq(
    lineOf({ params: { "a b": { [Symbol("k")]: 1 } } }),
    'groups[0].params["a b"]: not JSON-serialisable (symbol key)',
  );
});

Deno.test("validateGroups() reports a cycle in params and accepts a shared object", () => {
  const a: Obj = { x: 1 };
  a.self = { back: a };
  eq(
    lineOf({ params: { a } }),
    "groups[0].params.a.self.back: not JSON-serialisable (cycle back to groups[0].params.a)",
  );
  const shared = { x: 1 };
  eq(groups({ params: { p: shared, q: [shared] } })[0]!.params, { p: { x: 1 }, q: [{ x: 1 }] });
});

Deno.test("validateGroups() accepts a 1 MB string and null-prototype objects in params", () => {
  const big = "x".repeat(1 << 20);
  const bare = Object.assign(Object.create(null), { k: null });
  const out = groups({ params: { big, bare, proto: JSON.parse('{"__proto__":1}') } });
  eq((out[0]!.params!.big as string).length, 1 << 20);
  eq(Object.keys(out[0]!.params!.proto as Obj), ["__proto__"]);
});

Deno.test("validateGroups() shows long values truncated to about 80 characters", () => {
  const i = issueOf(() => groups({ priority: "y".repeat(1000) }));
  const shown = i.message.slice(i.message.indexOf("(got ") + 5, -1);
  eq(shown.length, 80);
  assert(shown.endsWith("…"));
  eq(i.value, "y".repeat(1000));
});

// ---------------------------------------------------------------- all issues

Deno.test("validateGroups() collects every issue, in input order, one per line", () => {
  const e = errorOf(() =>
    groups(
      { name: "", processes: [local({ instances: 0 }), remote({ hosts: [] })] },
      { priority: 99, bogus: true },
    )
  );
  eq(e.name, "ConfigError");
  assert(e instanceof Error);
  eq(e.issues.map((i) => i.pathText), [
    "groups[0].name",
    "groups[0].processes[0].instances",
    "groups[0].processes[1].hosts",
    "groups[1].priority",
    "groups[1].bogus",
  ]);
  eq(e.message.split("\n"), e.issues.map((i) => `${i.pathText}: ${i.message}`));
  eq([e.pathText, e.value], ["groups[0].name", ""]);
});

// ---------------------------------------------------------------- files

Deno.test("validateGroups() checks that a local command file exists", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/sub/bin`, { recursive: true });
    await Deno.writeTextFile(`${dir}/w.ts`, "");
    await Deno.writeTextFile(`${dir}/sub/w.ts`, "");
    await Deno.writeTextFile(`${dir}/sub/bin/run`, "");
    const check = (g: Obj) => validateGroups([group(g)], { cwd: dir });
    check({ command: "w.ts" });
    check({ command: `${dir}/w.ts`, path: "/nowhere" });
    check({ command: "w.ts", path: "sub" });
    check({ command: "w.ts", path: "/nowhere", processes: [local({ path: `${dir}/sub` })] });
    check({ command: "bin/run", path: "sub" });
    check({ command: "no-such-binary-on-path" }); // not a script, no slash: found on PATH
    check({ command: "gone.ts", processes: [remote()] }); // remote only: not checked here
    validateGroups([group({ command: "gone.ts" })], { cwd: dir, checkFiles: false });

    const e = errorOf(() => check({ command: "gone.ts", path: "sub" }));
    eq(e.issues.length, 1);
    eq(e.path, ["groups", 0, "command"]);
    eq(e.message, `groups[0].command: command file not found: ${dir}/sub/gone.ts (got "gone.ts")`);
    eq(e.value, "gone.ts");
    assert(e.cause instanceof Deno.errors.NotFound);
    eq(
      issueOf(() => check({ command: "sub/bin" })).message,
      `${dir}/sub/bin is not a file (got "sub/bin")`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validateGroups() reports each missing resolved file once per group", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const e = errorOf(() =>
      validateGroups([group({
        command: "w.ts",
        processes: [local(), local(), local({ path: "other" }), remote()],
      })], { cwd: dir })
    );
    eq(e.issues.map((i) => i.message.split(" (got")[0]), [
      `command file not found: ${dir}/w.ts`,
      `command file not found: ${dir}/other/w.ts`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("validateGroups() skips the file check of a group with other issues", () => {
  eq(
    issuesOf(() => validateGroups([group({ command: "gone.ts", priority: 50 })], { cwd: "/" }))
      .length,
    1,
  );
});

// ---------------------------------------------------------------- launch options

Deno.test("validateLaunchOptions() returns a copy of valid options", () => {
  eq(validateLaunchOptions(FULL_OPTIONS), FULL_OPTIONS);
  eq(validateLaunchOptions({}), {});
  eq(validateLaunchOptions({ restart: "never", service: true }), {
    restart: "never",
    service: true,
  });
});

Deno.test("validateLaunchOptions() names the bad option and shows its value", () => {
  const cases: [Obj, string][] = [
    [{ timeout: -1 }, "timeout: must be a number ≥ 0 (got -1)"],
    [{ maxRunningTime: "1h" }, 'maxRunningTime: must be a number ≥ 0 (got "1h")'],
    [{ maxRestarts: 1.5 }, "maxRestarts: must be an integer ≥ 0 (got 1.5)"],
    [{ maxProcessTimeouts: -1 }, "maxProcessTimeouts: must be an integer ≥ 0 (got -1)"],
    [{ gracePeriod: Infinity }, "gracePeriod: must be a number ≥ 0 (got Infinity)"],
    [{ checkInterval: 0 }, "checkInterval: must be a number > 0 (got 0)"],
    [
      { restart: "sometimes" },
      'restart: must be one of "on-failure", "always", "never" (got "sometimes")',
    ],
    [{ service: "yes" }, 'service: must be true or false (got "yes")'],
    [{ gracePeriode: 1 }, 'gracePeriode: unknown key (did you mean "gracePeriod"?)'],
    [{ backoffInitial: 10, backoffMax: 5 }, "backoffMax: must be ≥ backoffInitial (10) (got 5)"],
  ];
  for (const [input, line] of cases) {
    eq(errorOf(() => validateLaunchOptions(input)).message, line);
  }
  eq(errorOf(() => validateLaunchOptions(null)).message, "must be an object (got null)");
});

Deno.test("validateLaunchOptions() prefixes paths with root", () => {
  const e = errorOf(() => validateLaunchOptions({ timeout: -1 }, ["options"]));
  eq([e.path, e.pathText, e.value], [["options", "timeout"], "options.timeout", -1]);
});

// ---------------------------------------------------------------- whole file

Deno.test("validateConfig() splits a file into groups and launch options", () => {
  const out = validateConfig(
    { $schema: "./schema.json", groups: [FULL_GROUP], ...FULL_OPTIONS },
    { checkFiles: false },
  );
  eq(out, { groups: [FULL_GROUP], options: FULL_OPTIONS });
});

Deno.test("validateConfig() collects issues of groups and options together", () => {
  const e = errorOf(() => validateConfig({ groups: [group({ name: "" })], timeout: -1, grups: 1 }));
  eq(e.issues.map((i) => `${i.pathText}: ${i.message}`), [
    'groups[0].name: must be a non-empty string (got "")',
    "timeout: must be a number ≥ 0 (got -1)",
    'grups: unknown key (did you mean "groups"?)',
  ]);
  eq(errorOf(() => validateConfig({})).message, "groups: is required");
});

// ---------------------------------------------------------------- schema

type Def = { properties: Obj; required: string[]; additionalProperties: boolean };

Deno.test("configSchema() has the same keys as the validator accepts", () => {
  const s = configSchema() as { $defs: Record<string, Def> } & Def;
  const [localFull, remoteFull] = FULL_GROUP.processes;
  const keys = (o: object) => Object.keys(o).sort();
  eq(keys(s.$defs.group!.properties), keys(FULL_GROUP));
  eq(keys(s.$defs.localProcess!.properties), keys({ ...localFull, permissions: [], path: "" }));
  eq(keys(s.$defs.remoteProcess!.properties), keys({ ...remoteFull, ...localFull }));
  eq(keys(s.properties), keys({ $schema: "", groups: [], ...FULL_OPTIONS, http: {} }));
  for (const def of [s, ...Object.values(s.$defs)]) eq(def.additionalProperties, false);
  eq(s.$defs.group!.required, ["name", "command", "processes"]);
  eq(s.$defs.remoteProcess!.required, ["type", "hosts", "instances"]);
});

Deno.test("configSchema() permission and env patterns agree with the validator", () => {
  const s = configSchema() as { $defs: Record<string, Def> };
  const props = s.$defs.group!.properties as Record<string, Obj>;
  const permission = new RegExp((props.permissions!.items as Obj).pattern as string);
  const envName = new RegExp((props.env!.propertyNames as Obj).pattern as string);
  const flags = [
    "--allow-read",
    "--allow-net=a:1,b:2",
    "-A",
    "--unstable",
    "; rm",
    "--allow-read=a b",
  ];
  for (const flag of flags) {
    const ok = issuesOf(() => groups({ permissions: [flag] }), true).length === 0;
    eq(permission.test(flag), ok, flag);
  }
  for (const name of ["A", "_a1", "1A", "A-B"]) {
    const ok = issuesOf(() => groups({ env: { [name]: "" } }), true).length === 0;
    eq(envName.test(name), ok, name);
  }
});
