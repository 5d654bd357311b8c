import { deepStrictEqual as eq, ok, throws } from "node:assert/strict";
import { ConfigFileError, formatIssue, parseConfigText } from "./config_file.ts";

function issuesOf(text: string): string[] {
  let caught: unknown;
  throws(() => {
    try {
      parseConfigText(text, "d.yaml", { checkFiles: false });
    } catch (e) {
      caught = e;
      throw e;
    }
  });
  ok(caught instanceof ConfigFileError, String(caught));
  return caught.issues.map(formatIssue);
}

const GOOD = `groups:
  - name: First Group
    command: script1.ts
    params: { message: Hello World! }
    processes:
      - { type: local, instances: 3 }
      - { type: remote, hosts: [remote-server-1, remote-server-2], instances: 2 }
timeout: 5
restart: never
`;

Deno.test("parseConfigText() reads groups and launcher options from YAML", () => {
  const { groups, options } = parseConfigText(GOOD, "d.yaml", { checkFiles: false });
  eq(groups.length, 1);
  eq(groups[0]?.params, { message: "Hello World!" });
  eq(groups[0]?.processes[1], {
    type: "remote",
    hosts: ["remote-server-1", "remote-server-2"],
    instances: 2,
  });
  eq(options, { timeout: 5, restart: "never" });
});

Deno.test("parseConfigText() points an empty hosts list at its line and column", () => {
  const text = GOOD.replace("[remote-server-1, remote-server-2]", "[]");
  eq(issuesOf(text), ["d.yaml:7:32 groups[0].processes[1].hosts: must not be empty (got [])"]);
});

Deno.test("parseConfigText() reports an unknown key at the key, with a suggestion", () => {
  const text = GOOD.replace("timeout: 5", "timeuot: 5");
  const [issue] = issuesOf(text);
  eq(issue, 'd.yaml:8:1 timeuot: unknown key (did you mean "timeout"?)');
});

Deno.test("parseConfigText() reports a missing key at the object that lacks it", () => {
  const text = GOOD.replace("    command: script1.ts\n", "");
  const issues = issuesOf(text);
  ok(issues.some((i) => i.startsWith("d.yaml:2:5 groups[0].command: ")), issues.join("\n"));
});

Deno.test("parseConfigText() lists every issue, not only the first", () => {
  const text = GOOD.replace("instances: 3", "instances: 0").replace("restart: never", "restart: x");
  const issues = issuesOf(text);
  eq(issues.length, 2, issues.join("\n"));
  ok(issues[0]?.startsWith("d.yaml:6:35 groups[0].processes[0].instances: "), issues[0]);
  ok(issues[1]?.startsWith("d.yaml:9:10 restart: "), issues[1]);
});

Deno.test("parseConfigText() reports YAML syntax errors with their position", () => {
  const issues = issuesOf("groups:\n  - name: [oops\n");
  ok(issues[0]?.startsWith("d.yaml:"), issues[0]);
  eq(issues.length >= 1, true);
});

Deno.test("parseConfigText() refuses duplicate keys", () => {
  const issues = issuesOf(GOOD + "timeout: 6\n");
  ok(issues[0]?.startsWith("d.yaml:10:1 "), issues[0]);
});

Deno.test("parseConfigText() reports an empty file as missing groups", () => {
  const issues = issuesOf("");
  ok(issues[0]?.includes("groups"), issues[0]);
});

Deno.test("parseConfigText() bounds aliases by expanded size, not by count", () => {
  const procs = "[&d { type: local, instances: 1 }" + ", *d".repeat(1499) + "]";
  const text = `groups:\n  - name: g\n    command: sleep\n    processes: ${procs}\n`;
  const { groups } = parseConfigText(text, "d.yaml", { checkFiles: false });
  eq(groups[0]?.processes.length, 1500);
});

Deno.test("parseConfigText() reports an alias cycle as a config issue", () => {
  const text = "groups:\n  - &x { name: g, command: sleep, params: { self: *x },\n" +
    "        processes: [{ type: local, instances: 1 }] }\n";
  const [issue, ...more] = issuesOf(text);
  eq(more, []);
  ok(issue?.startsWith("d.yaml:2:"), issue);
  ok(issue?.includes("groups[0].params.self") && issue.includes("cycle"), issue);
});

Deno.test("parseConfigText() sorts issues by position", () => {
  const text = "backoffMax: 0.5\n" + GOOD.replace("timeout: 5", "timeout: -5") +
    "backoffInitial: 1\n";
  const issues = issuesOf(text);
  eq(issues.map((i) => i.split(" ")[0]), ["d.yaml:1:13", "d.yaml:9:10"]);
});
