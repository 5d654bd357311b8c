import assert from "node:assert/strict";
import { type InstanceSpec, plan } from "./plan.ts";
import { isDenoScript, normalizePath, resolveScript } from "./_paths.ts";
import { rescale } from "./_respec.ts";
import { remoteTargetKey } from "./_target_key.ts";
import type { GroupConfig, RemoteProcessConfig } from "./types.ts";

const seed: GroupConfig[] = [
  {
    name: "First Group",
    command: "script1.ts",
    params: { message: "Hello World!" },
    processes: [
      { type: "local", instances: 3 },
      { type: "remote", hosts: ["remote-server-1", "remote-server-2"], instances: 2 },
    ],
  },
  {
    name: "Second Group",
    command: "script2.ts",
    processes: [
      { type: "local", instances: 2 },
      { type: "remote", hosts: ["remote-server-1", "remote-server-2"], instances: 2 },
    ],
  },
];

Deno.test("plan() numbers the seed README's groups: ids 1…N, groupIds 1…groupCount", () => {
  const specs = plan(seed, { cwd: "/srv" });
  assert.equal(specs.length, 13);
  assert.deepEqual(specs.map((s) => [s.id, s.groupId, s.groupCount, s.host]), [
    [1, 1, 7, "localhost"],
    [2, 2, 7, "localhost"],
    [3, 3, 7, "localhost"],
    [4, 4, 7, "remote-server-1"],
    [5, 5, 7, "remote-server-1"],
    [6, 6, 7, "remote-server-2"],
    [7, 7, 7, "remote-server-2"],
    [8, 1, 6, "localhost"],
    [9, 2, 6, "localhost"],
    [10, 3, 6, "remote-server-1"],
    [11, 4, 6, "remote-server-1"],
    [12, 5, 6, "remote-server-2"],
    [13, 6, 6, "remote-server-2"],
  ]);
  assert.deepEqual(specs.slice(0, 3).map((s) => s.label), [
    "script1.ts/1/1",
    "script1.ts/2/2",
    "script1.ts/3/3",
  ]);
  assert.equal(specs[12]?.label, "script2.ts/13/6");
});

Deno.test("plan() gives each remote host one session for every group that reaches it the same way", () => {
  const specs = plan(seed, { cwd: "/srv" });
  const r1 = remoteTargetKey("remote-server-1", {});
  const r2 = remoteTargetKey("remote-server-2", {});
  assert.deepEqual(specs[0]?.target, {
    type: "local",
    key: "local",
    host: "localhost",
    config: seed[0]?.processes[0],
  });
  assert.deepEqual(specs[3]?.target, {
    type: "remote",
    key: r1,
    host: "remote-server-1",
    config: seed[0]?.processes[1],
  });
  // both groups' remote instances: one key per host, and each instance's own process config
  assert.deepEqual([...new Set(specs.map((s) => s.target.key))], ["local", r1, r2]);
  assert.equal(specs[9]?.target.key, r1);
  assert.equal(specs[9]?.target.config, seed[1]?.processes[1]);
});

Deno.test("plan() keys remote targets by how the host is reached and the agent's runtime", () => {
  const remote = (extra: Partial<RemoteProcessConfig> = {}): RemoteProcessConfig => ({
    type: "remote",
    hosts: ["h"],
    instances: 1,
    ...extra,
  });
  const keyOf = (g: Partial<GroupConfig>, p: RemoteProcessConfig) =>
    plan([{ name: "g", command: "w.ts", ...g, processes: [p] }], { cwd: "/srv" })[0]!.target.key;
  const base = keyOf({}, remote());
  // what an instance runs, not how its host is reached: the same session
  assert.equal(keyOf({ env: { A: "1" }, params: { x: 1 } }, remote({ priority: 5 })), base);
  assert.equal(keyOf({ command: "other.ts", permissions: ["--allow-net"] }, remote()), base);
  // an interpreter is not the agent's runtime: a python worker shares the Deno workers' agent
  assert.equal(keyOf({ command: "w.py", binPath: "python3" }, remote()), base);
  // reached differently, or another runtime for the agent: a session of its own
  assert.notEqual(keyOf({}, remote({ username: "u" })), base);
  assert.notEqual(keyOf({}, remote({ sshOptions: { Compression: "yes" } })), base);
  assert.notEqual(keyOf({}, remote({ binPath: "/opt/deno" })), base);
  assert.equal(
    keyOf({ binPath: "/opt/deno" }, remote()),
    keyOf({}, remote({ binPath: "/opt/deno" })),
    "a group's binPath counts as its process configs'",
  );
});

Deno.test("plan() puts ids and params in the context and the protocol variables in env", () => {
  const [s] = plan(
    [{
      name: "g",
      command: "w.ts",
      params: { a: [1, { b: "é" }] },
      env: { USER_VAR: "x", DISTARCH_ID: "spoofed" },
      processes: [{ type: "local", instances: 2 }],
    }],
    { cwd: "/srv" },
  );
  assert.deepEqual(s?.context, {
    v: 1,
    id: 1,
    groupId: 1,
    groupCount: 2,
    host: "localhost",
    group: { name: "g", command: "w.ts", params: { a: [1, { b: "é" }] } },
  });
  assert.deepEqual(s?.env, {
    USER_VAR: "x",
    DISTARCH_PROTOCOL: "1",
    DISTARCH_ID: "1",
    DISTARCH_GROUP_ID: "1",
    DISTARCH_GROUP_COUNT: "2",
  });
  const [e] = plan([{ name: "g", command: "w.ts", processes: [{ type: "local", instances: 1 }] }]);
  assert.deepEqual(e?.context.group.params, {}, "params default to {}");
});

Deno.test("plan() lets process settings override group settings, which override defaults", () => {
  const specs = plan(
    [{
      name: "g",
      command: "w.ts",
      path: "work",
      priority: 5,
      timeout: 7,
      binPath: "/opt/deno",
      env: { A: "g", B: "g" },
      permissions: ["--allow-net"],
      processes: [
        { type: "local", instances: 1 },
        {
          type: "local",
          instances: 1,
          path: "/abs",
          priority: 9,
          timeout: 0,
          binPath: "/usr/bin/deno",
          env: { B: "p" },
          permissions: [],
        },
      ],
    }, { name: "d", command: "w.ts", processes: [{ type: "local", instances: 1 }] }],
    { cwd: "/srv", timeout: 11 },
  );
  const [a, b, d] = specs;
  assert.deepEqual(
    [a?.cwd, a?.priority, a?.timeout, a?.env.A, a?.env.B, a?.exec],
    ["/srv/work", 5, 7, "g", "g", {
      kind: "deno",
      binPath: "/opt/deno",
      permissions: ["--allow-net"],
      script: "/srv/work/w.ts",
    }],
  );
  assert.deepEqual(
    [b?.cwd, b?.priority, b?.timeout, b?.env.A, b?.env.B, b?.exec],
    ["/abs", 9, 0, "g", "p", {
      kind: "deno",
      binPath: "/usr/bin/deno",
      permissions: [],
      script: "/abs/w.ts",
    }],
  );
  assert.equal(d?.timeout, 11);
  assert.equal(d?.cwd, undefined);
  assert.equal(d?.priority, undefined);
  assert.deepEqual(d?.exec, { kind: "deno", permissions: [], script: "/srv/w.ts" });
});

Deno.test("plan() runs a non-script command as a binary, found on PATH unless it has a path", () => {
  const specs = plan(
    [
      { name: "a", command: "sleep", processes: [{ type: "local", instances: 1 }] },
      { name: "b", command: "bin/w.sh", processes: [{ type: "local", instances: 1 }] },
      {
        name: "c",
        command: "w.py",
        binPath: "python3",
        processes: [{ type: "local", instances: 1 }],
      },
    ],
    { cwd: "/srv" },
  );
  assert.deepEqual(specs.map((s) => s.exec), [
    { kind: "binary", command: "sleep" },
    { kind: "binary", command: "/srv/bin/w.sh" },
    { kind: "binary", command: "w.py", binPath: "python3" },
  ]);
  assert.deepEqual(specs.map((s) => s.label), ["sleep/1/1", "w.sh/2/1", "w.py/3/1"]);
});

Deno.test("plan() is pure: the same input gives the same plan and is not changed", () => {
  const copy = structuredClone(seed);
  assert.deepEqual(plan(seed, { cwd: "/x" }), plan(seed, { cwd: "/x" }));
  assert.deepEqual(seed, copy);
});

Deno.test("isDenoScript and resolveScript", () => {
  for (const c of ["a.ts", "b/c.js", "d.mjs", "e.mts", "f.tsx", "g.jsx"]) {
    assert.ok(isDenoScript(c), c);
  }
  for (const c of ["a.sh", "a.py", "sleep", "a.ts.bak"]) assert.ok(!isDenoScript(c), c);
  assert.equal(resolveScript("/abs/w.ts", "p", "/cwd"), "/abs/w.ts");
  assert.equal(resolveScript("w.ts", undefined, "/cwd"), "/cwd/w.ts");
  assert.equal(resolveScript("w.ts", "p/", "/cwd"), "/cwd/p/w.ts");
  assert.equal(resolveScript("w.ts", "/q//", "/cwd"), "/q/w.ts");
});

Deno.test("normalizePath() and resolveScript() give paths without . or .. segments", () => {
  const cases: [string, string][] = [
    ["/app/./no-such.sh", "/app/no-such.sh"],
    ["/a//b/../c/", "/a/c"],
    ["/..", "/"],
    ["a/../../b", "../b"],
    ["./", "."],
  ];
  for (const [path, want] of cases) assert.equal(normalizePath(path), want, path);
  assert.equal(resolveScript("./w.sh", undefined, "/app/."), "/app/w.sh");
  assert.equal(resolveScript("../w.ts", "./sub", "/app"), "/app/w.ts");
  const [s] = plan([{
    name: "g",
    command: "./w.sh",
    path: "./sub/../work",
    processes: [{ type: "local", instances: 1 }],
  }], { cwd: "/srv/." });
  assert.deepEqual([s?.cwd, s?.exec], ["/srv/work", { kind: "binary", command: "/srv/work/w.sh" }]);
});

Deno.test("plan() takes a local bare-name command from its directory when the file exists, else PATH", () => {
  const files = new Set(["/cfg/w.sh", "/cfg/w.py", "/cfg/work/job"]);
  const isFile = (p: string) => files.has(p);
  const one = (extra: Partial<GroupConfig>, type: "local" | "remote" = "local") =>
    plan([{
      name: "g",
      command: "w.sh",
      processes: [type === "local" ? { type, instances: 1 } : { type, hosts: ["h"], instances: 1 }],
      ...extra,
    }], { cwd: "/cfg", isFile })[0]?.exec;
  const cases: [Partial<GroupConfig>, "local" | "remote", unknown][] = [
    [{}, "local", { kind: "binary", command: "/cfg/w.sh" }],
    [{ command: "sleep" }, "local", { kind: "binary", command: "sleep" }],
    [{ command: "w.py", binPath: "python3" }, "local", {
      kind: "binary",
      command: "/cfg/w.py",
      binPath: "python3",
    }],
    [{ command: "x.py", binPath: "python3" }, "local", {
      kind: "binary",
      command: "x.py",
      binPath: "python3",
    }],
    [{ command: "job", path: "work" }, "local", { kind: "binary", command: "/cfg/work/job" }],
    [{ command: "sleep", path: "work" }, "local", { kind: "binary", command: "sleep" }],
    [{ command: "./sleep" }, "local", { kind: "binary", command: "/cfg/sleep" }],
    // remote: unchanged, a bare name is the host's, a path is taken as resolved here
    [{}, "remote", { kind: "binary", command: "w.sh" }],
    [{ command: "job", path: "work" }, "remote", { kind: "binary", command: "/cfg/work/job" }],
  ];
  for (const [extra, type, want] of cases) {
    assert.deepEqual(one(extra, type), want, `${type} ${JSON.stringify(extra)}`);
  }
});

/** The first group of the seed, its slot templates (first spec of each slot) and its members. */
function firstGroup() {
  const specs = plan(seed, { cwd: "/srv" });
  const members = specs.filter((s) => s.group === "First Group").map((spec) => ({ spec }));
  const templates = new Map<string, InstanceSpec>();
  for (const { spec } of members) if (!templates.has(spec.slot)) templates.set(spec.slot, spec);
  return { specs, members, templates };
}

Deno.test("rescale() up: each slot gets new instances with the next ids after every group's", () => {
  const { specs, members, templates } = firstGroup();
  const { added, removed } = rescale(templates, members, {
    instancesPerHost: 4,
    lastId: Math.max(...specs.map((s) => s.id)),
  });
  assert.deepEqual(removed, []);
  // local had 3, each remote host 2: +1, +2, +2; 3 slots × 4 = 12 in the group
  assert.deepEqual(added.map((s) => [s.id, s.groupId, s.groupCount, s.host, s.label]), [
    [14, 8, 12, "localhost", "script1.ts/14/8"],
    [15, 9, 12, "remote-server-1", "script1.ts/15/9"],
    [16, 10, 12, "remote-server-1", "script1.ts/16/10"],
    [17, 11, 12, "remote-server-2", "script1.ts/17/11"],
    [18, 12, 12, "remote-server-2", "script1.ts/18/12"],
  ]);
  assert.equal(added[0]!.env.DISTARCH_GROUP_COUNT, "12");
  assert.deepEqual(added.map((s) => s.target.type), [
    "local",
    "remote",
    "remote",
    "remote",
    "remote",
  ]);
});

Deno.test("rescale() down: each slot loses its members with the highest groupId", () => {
  const { members, templates } = firstGroup();
  const shuffled = [...members].reverse();
  const { added, removed } = rescale(templates, shuffled, { instancesPerHost: 1, lastId: 13 });
  assert.deepEqual(added, []);
  assert.deepEqual(removed.map((m) => m.spec.groupId), [2, 3, 5, 7]);
  assert.deepEqual(
    rescale(templates, members, { instancesPerHost: 0, lastId: 13 }).removed.length,
    7,
  );
});

Deno.test("rescale() from 0: a slot with no member is filled from its template", () => {
  const { templates } = firstGroup();
  const { added } = rescale(templates, [], { instancesPerHost: 1, lastId: 20 });
  assert.deepEqual(added.map((s) => [s.id, s.groupId, s.groupCount, s.slot]), [
    [21, 1, 3, "0/0/localhost"],
    [22, 2, 3, "0/1/remote-server-1"],
    [23, 3, 3, "0/1/remote-server-2"],
  ]);
});
