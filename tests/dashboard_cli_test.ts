/**
 * `distarch run --http` and the config's `http:` section, and `distarch
 * dashboard`, with a real master.
 */

import assert from "node:assert/strict";
import { distarch, ROOT, startMaster, tempDir } from "../cli/_testing.ts";
import { assertNoneLeft, killMarked, marker, waitFor } from "./_helpers.ts";

function config(mark: string, extra = ""): string {
  return `groups:
  - name: Web
    command: ${ROOT}tests/fixtures/d_worker.ts
    env: { DISTARCH_TEST_MARK: ${mark} }
    processes:
      - { type: local, instances: 2 }
gracePeriod: 3
${extra}`;
}

Deno.test("run --http serves the dashboard; `distarch dashboard` prints its login URL; the file is 0600 and removed at exit", async () => {
  using dir = tempDir();
  const mark = marker();
  const sock = `${dir.path}/c.sock`;
  Deno.writeTextFileSync(`${dir.path}/d.yaml`, config(mark));
  const env = { DISTARCH_HTTP_TOKEN: "" };
  try {
    await using master = await startMaster(
      [`${dir.path}/d.yaml`, "--plain", "--http", "127.0.0.1:0"],
      sock,
      { env },
    );
    const file = `${sock}.http.json`;
    await waitFor(
      () => {
        try {
          return Deno.statSync(file).isFile;
        } catch {
          return false;
        }
      },
      15_000,
      "the dashboard file",
    );
    assert.equal(Deno.statSync(file).mode! & 0o777, 0o600);
    const res = await distarch(["dashboard", "--socket", sock]);
    assert.equal(res.code, 0, res.stderr);
    const loginUrl = res.stdout.trim();
    assert.match(loginUrl, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{43}$/);
    const logged = master.stdout().split("\n").filter((l) => l.includes("dashboard: http://"));
    assert.equal(logged.length, 1, master.stdout());
    assert(logged[0]!.endsWith(loginUrl), "the master logged the same URL");
    const url = new URL(loginUrl);
    const token = url.searchParams.get("token")!;
    const instances = await waitFor(
      async () => {
        const r = await fetch(new URL("/api/instances", url), {
          headers: { authorization: `Bearer ${token}` },
        });
        const list = await r.json();
        return list.length === 2 && list.every((i: { state: string }) => i.state === "running")
          ? list
          : undefined;
      },
      15_000,
      "2 running instances",
    );
    assert.deepEqual(instances.map((i: { group: string }) => i.group), ["Web", "Web"]);
    // ps --json has CPU and memory too (one sampler for ps, the live view and the dashboard)
    const measured = await waitFor(
      async () => {
        const ps = await distarch(["ps", "--json", "--socket", sock]);
        const list: { rss?: number; cpu?: number; cpuSeconds?: number }[] = JSON.parse(ps.stdout);
        return list.every((i) => i.rss !== undefined && i.cpu !== undefined) ? list : undefined;
      },
      15_000,
      "ps --json with cpu and rss",
    );
    assert(
      measured.every((i) => i.rss! > 10 * 2 ** 20 && i.cpuSeconds! > 0),
      JSON.stringify(measured),
    );
    const stop = await fetch(new URL("/api/stop", url), {
      method: "POST",
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(stop.status, 202);
    await stop.body?.cancel();
    assert.equal(await master.exit(20_000), 0);
    assert.throws(() => Deno.statSync(file), Deno.errors.NotFound);
    const after = await distarch(["dashboard", "--socket", sock]);
    assert.equal(after.code, 4);
    assert.match(after.stderr, /no master runs on/);
  } finally {
    killMarked(mark);
  }
  await assertNoneLeft(mark);
});

Deno.test("the config's http: section sets the address and the token; a short token is a config error", async () => {
  using dir = tempDir();
  const mark = marker();
  const sock = `${dir.path}/c.sock`;
  const token = "config-token-0123456789";
  Deno.writeTextFileSync(
    `${dir.path}/bad.yaml`,
    config(mark, `http: { listen: "127.0.0.1:0", token: short }`),
  );
  const bad = await distarch(["run", `${dir.path}/bad.yaml`, "--socket", sock]);
  assert.equal(bad.code, 3);
  assert.match(bad.stderr, /http\.token: must be at least 16 characters/);

  Deno.writeTextFileSync(
    `${dir.path}/d.yaml`,
    config(mark, `http: { listen: "127.0.0.1:0", token: ${token} }`),
  );
  try {
    await using master = await startMaster([`${dir.path}/d.yaml`, "--plain"], sock, {
      env: { DISTARCH_HTTP_TOKEN: "ignored-because-the-config-has-one" },
    });
    const res = await waitFor(
      async () => {
        const r = await distarch(["dashboard", "--socket", sock, "--json"]);
        return r.code === 0 ? r : undefined;
      },
      15_000,
      "the dashboard",
    );
    const { loginUrl, url, pid } = JSON.parse(res.stdout);
    assert.equal(pid, master.child.pid);
    assert.equal(loginUrl, `${url}?token=${token}`);
    const ok = await fetch(new URL("/api/groups", url), {
      headers: { authorization: `Bearer ${token}` },
    });
    assert.equal(ok.status, 200);
    assert.equal((await ok.json())[0].name, "Web");
    const stopped = await distarch(["stop", "--socket", sock]);
    assert.equal(stopped.code, 0, stopped.stderr);
    await master.exit(20_000);
  } finally {
    killMarked(mark);
  }
  await assertNoneLeft(mark);
});
