// `distarch reload` and SIGHUP against a running `distarch run`, checked on the real processes.
import { deepStrictEqual as eq, match, ok } from "node:assert/strict";
import { distarch, ROOT, startMaster, tempDir } from "../cli/_testing.ts";
import type { InstanceInfo } from "../master/events.ts";
import { assertNoneLeft, killMarked, marker, waitFor } from "./_helpers.ts";

const W = `${ROOT}tests/fixtures/w_ready.sh`;

function config(mark: string, groups: Record<string, { n: number; v?: string }>): string {
  const lines = ["groups:"];
  for (const [name, { n, v = "1" }] of Object.entries(groups)) {
    lines.push(
      `  - name: ${name}`,
      `    command: ${W}`,
      `    waitReady: true`,
      `    env: { DISTARCH_TEST_MARK: ${mark}, V: "${v}" }`,
      `    processes:`,
      `      - { type: local, instances: ${n} }`,
    );
  }
  lines.push("gracePeriod: 2", "");
  return lines.join("\n");
}

async function ps(sock: string): Promise<InstanceInfo[]> {
  const res = await distarch(["ps", "--json", "--socket", sock]);
  eq(res.code, 0, res.stderr);
  return JSON.parse(res.stdout);
}

const pidsOf = (infos: InstanceInfo[], group: string) =>
  infos.filter((i) => i.group === group).map((i) => i.pid);

Deno.test("distarch reload applies a file and prints the report; an invalid one changes nothing (exit 3)", async () => {
  using dir = tempDir();
  const mark = marker();
  const sock = `${dir.path}/c.sock`;
  const file = `${dir.path}/d.yaml`;
  Deno.writeTextFileSync(file, config(mark, { alpha: { n: 2 }, beta: { n: 2 }, gamma: { n: 1 } }));
  await using master = await startMaster([file, "--plain"], sock);
  try {
    await waitFor(
      async () => (await ps(sock)).filter((i) => i.ready).length === 5,
      15_000,
      "all ready",
    );
    const before = await ps(sock);

    const next = `${dir.path}/next.yaml`;
    Deno.writeTextFileSync(
      next,
      config(mark, { alpha: { n: 2 }, beta: { n: 2, v: "2" }, delta: { n: 1 } }),
    );
    const res = await distarch(["reload", next, "--socket", sock]);
    eq(res.code, 0, res.stderr);
    eq(res.stdout.trim().split("\n"), [
      "alpha: unchanged",
      "beta: changed (rolling restart of 2: env)",
      "delta: added",
      "gamma: removed",
    ]);
    const after = await ps(sock);
    eq(pidsOf(after, "alpha"), pidsOf(before, "alpha"));
    ok(pidsOf(after, "beta").every((p) => !pidsOf(before, "beta").includes(p)));
    eq(after.filter((i) => i.group === "gamma"), []);

    // invalid: every problem with its position, nothing changed
    const bad = `${dir.path}/bad.yaml`;
    Deno.writeTextFileSync(
      bad,
      config(mark, { alpha: { n: 2 } }).replace("waitReady: true", "waitReady: yes please") +
        "timeuot: 3\n",
    );
    const refused = await distarch(["reload", bad, "--socket", sock]);
    eq(refused.code, 3, refused.stderr);
    match(refused.stderr, /invalid config file .*bad\.yaml \(2 problems\), nothing changed:/);
    match(refused.stderr, /bad\.yaml:4:16 groups\[0\]\.waitReady: must be true or false/);
    match(refused.stderr, /bad\.yaml:\d+:1 timeuot: unknown key \(did you mean "timeout"\?\)/);
    eq((await ps(sock)).map((i) => [i.id, i.pid]), after.map((i) => [i.id, i.pid]));

    // SIGHUP: the master reloads the file it was started with
    Deno.writeTextFileSync(file, config(mark, { alpha: { n: 2 }, beta: { n: 2, v: "2" } }));
    Deno.kill(master.child.pid, "SIGHUP");
    await waitFor(() => master.stdout().includes("reload: delta: removed"), 15_000, "SIGHUP");
    match(master.stdout(), /reload: alpha: unchanged/);
    await waitFor(async () => !(await ps(sock)).some((i) => i.group === "delta"), 15_000);

    const stop = await distarch(["stop", "--socket", sock]);
    eq(stop.code, 0, stop.stderr);
    eq(await master.exit(), 0);
    await assertNoneLeft(mark);
  } finally {
    killMarked(mark);
  }
});

Deno.test("distarch reload exits 4 when no master answers", async () => {
  using dir = tempDir();
  const file = `${dir.path}/d.yaml`;
  Deno.writeTextFileSync(file, config(marker(), { a: { n: 1 } }));
  const res = await distarch(["reload", file, "--socket", `${dir.path}/none.sock`]);
  eq(res.code, 4, res.stderr);
  match(res.stderr, /no master is running on control socket/);
});
