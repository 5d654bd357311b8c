import { deepStrictEqual as eq } from "node:assert/strict";
import { diffGroups, type GroupDiff } from "./_reload_diff.ts";
import type { GroupConfig, ProcessConfig } from "./types.ts";

const local = (instances: number, extra: Partial<ProcessConfig> = {}): ProcessConfig =>
  ({ type: "local", instances, ...extra }) as ProcessConfig;
const remote = (hosts: string[], instances: number, extra: object = {}): ProcessConfig => ({
  type: "remote",
  hosts,
  instances,
  ...extra,
});
const g = (name: string, processes: ProcessConfig[], extra: Partial<GroupConfig> = {}) => ({
  name,
  command: "w.sh",
  processes,
  ...extra,
});

/** A diff without the slot details: kind, fields, settings, and `key from→to[*]` per slot. */
function brief(d: GroupDiff): string {
  const slots = d.slots.map((s) => `${s.key} ${s.from}→${s.to}${s.changed ? "*" : ""}`);
  const extra = [...d.fields, ...d.settings.map((s) => `~${s}`)];
  return `${d.group}: ${d.kind}${extra.length ? ` (${extra.join(", ")})` : ""} [${
    slots.join("; ")
  }]`;
}

const cases: [string, GroupConfig[], GroupConfig[], string[]][] = [
  ["identical configs", [g("a", [local(2)])], [g("a", [local(2)])], [
    "a: unchanged [0/localhost 2→2]",
  ]],
  ["added, removed, in new order then old", [g("a", [local(1)]), g("b", [local(1)])], [
    g("c", [local(3)]),
    g("a", [local(1)]),
  ], [
    "c: added [0/localhost 0→3]",
    "a: unchanged [0/localhost 1→1]",
    "b: removed [0/localhost 1→0]",
  ]],
  ["only counts", [g("a", [local(2)])], [g("a", [local(5)])], ["a: scaled [0/localhost 2→5]"]],
  ["env of the group", [g("a", [local(2)])], [g("a", [local(2)], { env: { X: "1" } })], [
    "a: changed (env) [0/localhost 2→2*]",
  ]],
  [
    "env moved from the group to its process config, same effect",
    [g("a", [local(2)], { env: { X: "1", Y: "2" } })],
    [g("a", [local(2, { env: { Y: "2", X: "1" } })])],
    ["a: unchanged [0/localhost 2→2]"],
  ],
  ["params and count together", [g("a", [local(2)], { params: { n: 1 } })], [
    g("a", [local(3)], { params: { n: 2 } }),
  ], ["a: changed (params) [0/localhost 2→3*]"]],
  ["command, priority, permissions, timeout, binPath, path", [g("a", [local(1)])], [
    g("a", [local(1, { priority: 5, timeout: 3 })], {
      command: "x.ts",
      permissions: ["--allow-net"],
      binPath: "deno",
      path: "/srv",
    }),
  ], ["a: changed (command, binPath, path, priority, permissions, timeout) [0/localhost 1→1*]"]],
  [
    "supervision settings alone change nothing an instance sees",
    [g("f", [local(1)]), g("a", [local(1)])],
    [
      g("f", [local(1)]),
      g("a", [local(1)], { waitReady: true, readyTimeout: 5, dependsOn: ["f"] }),
    ],
    [
      "f: unchanged [0/localhost 1→1]",
      "a: unchanged (~waitReady, ~readyTimeout, ~dependsOn) [0/localhost 1→1]",
    ],
  ],
  ["an empty dependsOn is no dependsOn", [g("a", [local(1)])], [
    g("a", [local(1)], { dependsOn: [] }),
  ], ["a: unchanged [0/localhost 1→1]"]],
  [
    "a host added and one removed: only their slots",
    [g("r", [remote(["h1", "h2"], 2)])],
    [g("r", [remote(["h2", "h3"], 2)])],
    ["r: scaled [0/h2 2→2; 0/h3 0→2; 0/h1 2→0]"],
  ],
  [
    "the port of a remote process config: its hosts' instances are replaced",
    [g("r", [local(1), remote(["h1"], 1)])],
    [g("r", [local(1), remote(["h1"], 1, { port: 2222 })])],
    ["r: changed (port) [0/localhost 1→1; 1/h1 1→1*]"],
  ],
  [
    "a process config appended",
    [g("a", [local(1)])],
    [g("a", [local(1), remote(["h1"], 2)])],
    ["a: scaled [0/localhost 1→1; 1/h1 0→2]"],
  ],
  [
    "a local config turned remote on the same position",
    [g("a", [local(1)])],
    [g("a", [remote(["localhost"], 1)])],
    ["a: changed (type) [0/localhost 1→1*]"],
  ],
];

for (const [name, before, after, expected] of cases) {
  Deno.test(`diffGroups(): ${name}`, () => {
    eq(diffGroups(before, after).map(brief), expected);
  });
}
