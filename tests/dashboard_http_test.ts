import assert from "node:assert/strict";
import { dashboardRun } from "./_dashboard.ts";
import { pidAlive, sleep, waitFor } from "./_helpers.ts";

const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; " +
  "img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/** Logs in with the login URL; returns the session cookie (`name=value`). */
async function login(loginUrl: string): Promise<string> {
  const res = await fetch(loginUrl, { redirect: "manual" });
  await res.body?.cancel();
  assert.equal(res.status, 303);
  assert.equal(res.headers.get("location"), "/");
  const set = res.headers.get("set-cookie") ?? "";
  assert.match(set, /; HttpOnly/);
  assert.match(set, /; SameSite=Strict/);
  return set.split(";")[0]!;
}

Deno.test("dashboard: 401 and no data without a token, with a wrong token or a forged cookie", async () => {
  await using run = dashboardRun({ "Secret Group": 1 });
  const [inst] = await run.running(1);
  const base = run.dashboard.url;
  const wrong = run.dashboard.token.slice(0, -1) + (run.dashboard.token.endsWith("A") ? "B" : "A");
  const cookieName = `distarch_session_${new URL(base).port}`;
  const attempts: [string, RequestInit][] = [];
  for (const path of ["/", "/app.js", "/api/instances", "/api/groups", "/metrics", "/api/events"]) {
    attempts.push([path, {}]);
    attempts.push([path, { headers: { authorization: `Bearer ${wrong}` } }]);
    attempts.push([path, { headers: { authorization: `Bearer ${run.dashboard.token}x` } }]);
    attempts.push([path, { headers: { cookie: `${cookieName}=${run.dashboard.token}` } }]);
  }
  attempts.push(["/?token=" + wrong, { redirect: "manual" }]);
  attempts.push(["/api/stop", { method: "POST" }]);
  for (const [path, init] of attempts) {
    const res = await fetch(new URL(path, base), init);
    const body = await res.text();
    assert.equal(res.status, 401, `${path} ${JSON.stringify(init)}`);
    assert(!body.includes("Secret Group") && !body.includes(String(inst!.pid)), body);
    assert.equal(res.headers.get("set-cookie"), null);
  }
  assert.equal(run.launcher.list()[0]!.state, "running"); // the unauthenticated stop did nothing
});

Deno.test("dashboard: the login URL sets a session cookie and redirects; pages carry a strict CSP", async () => {
  await using run = dashboardRun({ g: 1 });
  await run.running(1);
  assert.match(run.logs.find("dashboard: http://127.0.0.1:")[0]!.message, /\?token=[\w-]{43}$/);
  const cookie = await login(run.dashboard.loginUrl);
  for (const [path, type] of [["/", "text/html"], ["/app.js", "text/javascript"]] as const) {
    const res = await fetch(new URL(path, run.dashboard.url), { headers: { cookie } });
    await res.body?.cancel();
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-security-policy"), CSP);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff");
    assert(res.headers.get("content-type")!.startsWith(type));
  }
  const api = await fetch(new URL("/api/instances", run.dashboard.url), { headers: { cookie } });
  assert.equal((await api.json()).length, 1);
  // fetch() cannot set Host: speak HTTP/1.1 by hand, as a DNS-rebound page's request would arrive
  const port = Number(new URL(run.dashboard.url).port);
  const raw = async (host: string) => {
    using conn = await Deno.connect({ hostname: "127.0.0.1", port });
    const req = `GET /api/instances HTTP/1.1\r\nHost: ${host}\r\nCookie: ${cookie}\r\n` +
      "Connection: close\r\n\r\n";
    await conn.write(new TextEncoder().encode(req));
    const buf = new Uint8Array(4096);
    const n = await conn.read(buf);
    return new TextDecoder().decode(buf.subarray(0, n ?? 0)).split("\r\n")[0];
  };
  assert.equal(await raw(`127.0.0.1:${port}`), "HTTP/1.1 200 OK");
  assert.equal(await raw("attacker.example:" + port), "HTTP/1.1 421 Misdirected Request");
});

Deno.test("dashboard: actions refuse GET and cross-origin POSTs, and work same-origin", async () => {
  await using run = dashboardRun({ a: 2, b: 1 });
  const list = await run.running(3);
  const cookie = await login(run.dashboard.loginUrl);
  const origin = run.dashboard.url.slice(0, -1);
  const url = (p: string) => new URL(p, run.dashboard.url);
  const status = async (p: string, init: RequestInit) => {
    const res = await fetch(url(p), init);
    await res.body?.cancel();
    return res.status;
  };
  const bearer = { authorization: `Bearer ${run.dashboard.token}` };
  for (const p of ["/api/groups/a/suspend", "/api/groups/a/scale", "/api/stop"]) {
    assert.equal(await status(p, { headers: bearer }), 405, `GET ${p}`);
    assert.equal(await status(p, { headers: { cookie } }), 405, `GET ${p}`);
  }
  const post = (headers: Record<string, string>) => ({ method: "POST", headers });
  const suspendA = "/api/groups/a/suspend";
  assert.equal(await status(suspendA, post({ cookie })), 403, "cookie without Origin");
  assert.equal(await status(suspendA, post({ cookie, origin: "http://evil.example" })), 403);
  assert.equal(
    await status(suspendA, post({ cookie, origin: "http://127.0.0.1:1" })),
    403,
    "same site, other port",
  );
  assert.equal(await status(suspendA, post({ ...bearer, origin: "http://evil.example" })), 403);
  assert.equal(
    await status(suspendA, post({ cookie, origin, "sec-fetch-site": "cross-site" })),
    403,
  );
  await sleep(300);
  assert(list.every((i) => pidAlive(i.pid!)), "nothing was suspended");

  assert.equal(await status(suspendA, post({ cookie, origin })), 200);
  const a = list.filter((i) => i.group === "a");
  await waitFor(() => a.every((i) => !pidAlive(i.pid!)), 10_000, "group a's pids gone");
  assert(pidAlive(list.find((i) => i.group === "b")!.pid!));
  assert.equal(await status("/api/groups/a/resume", post(bearer)), 200, "bearer, no Origin");
  await run.running(3);

  const scale = (body: string) =>
    status("/api/groups/b/scale", {
      method: "POST",
      headers: { ...bearer, "content-type": "application/json" },
      body,
    });
  assert.equal(await scale('{"instances": -1}'), 400);
  assert.equal(await scale('{"instances": 10001}'), 400);
  assert.equal(await scale('{"instances": "2"}'), 400);
  assert.equal(await scale("[2]"), 400);
  assert.equal(await status("/api/groups/nope/suspend", post(bearer)), 404);
  assert.equal(await scale('{"instances": 2}'), 200);
  await run.running(4);
  // one instance restarts on its own: a new pid for it, the same pids for the others
  const now = run.launcher.list();
  const target = now.find((i) => i.group === "b")!;
  assert.equal(await status(`/api/instances/${target.id}/restart`, post(bearer)), 200);
  assert.equal(await status("/api/instances/999/restart", post(bearer)), 404);
  const after = run.launcher.list();
  const pidOf = (l: typeof now, id: number) => l.find((i) => i.id === id)!.pid;
  assert.notEqual(pidOf(after, target.id), target.pid);
  assert.equal(after.find((i) => i.id === target.id)!.state, "running");
  for (const i of now.filter((i) => i.id !== target.id)) assert.equal(pidOf(after, i.id), i.pid);
  assert.equal(pidAlive(target.pid!), false);
  const groups = await (await run.get("/api/groups")).json();
  assert.deepEqual(groups.map((g: { name: string; instances: number }) => [g.name, g.instances]), [
    ["a", 2],
    ["b", 2],
  ]);
});

Deno.test("dashboard: CPU and memory are positive and move when a worker burns CPU or allocates", async () => {
  await using run = dashboardRun({ g: 2 });
  const [busy, idle] = await run.running(2);
  type Info = { id: number; cpu?: number; rss?: number; cpuSeconds?: number };
  const of = async (id: number): Promise<Info> =>
    (await (await run.get("/api/instances")).json()).find((i: Info) => i.id === id);
  const before = await waitFor(
    async () => {
      const i = await of(busy!.id);
      return i.cpu !== undefined ? i : undefined;
    },
    10_000,
    "a first CPU figure",
  );
  assert(before.rss! > 10 * 2 ** 20, `rss ${before.rss}`);
  assert(before.cpuSeconds! > 0, `cpuSeconds ${before.cpuSeconds}`);
  Deno.kill(busy!.pid!, "SIGUSR2");
  const burning = await waitFor(
    async () => {
      const i = await of(busy!.id);
      return i.cpu! > 20 ? i : undefined;
    },
    10_000,
    "the burning worker above 20 % CPU (other load shares the cores)",
  );
  assert(burning.cpuSeconds! > before.cpuSeconds!);
  assert((await of(idle!.id)).cpu! < 30, "the idle one stays low");
  Deno.kill(busy!.pid!, "SIGWINCH");
  await waitFor(
    async () => (await of(busy!.id)).rss! > before.rss! + 50 * 2 ** 20,
    10_000,
    "+64 MiB",
  );
});

Deno.test("dashboard: /api/events streams instances and new log lines; a lagging client is told what it missed", async () => {
  await using run = dashboardRun({ g: 1 }, { feed: { capacity: 20, rate: 100_000 } });
  const [inst] = await run.running(1);
  const res = await run.get("/api/events");
  assert.equal(res.headers.get("content-type"), "text/event-stream; charset=utf-8");
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  const until = async (re: RegExp) => {
    const end = Date.now() + 10_000;
    while (!re.test(text)) {
      if (Date.now() > end) throw new Error(`no ${re} in:\n${text.slice(-2000)}`);
      const { value, done } = await reader.read();
      if (done) throw new Error("stream ended");
      text += value;
    }
  };
  await until(/event: instances\ndata: \{"now":\d+,"canRestartInstance":true,"instances":\[/);
  Deno.kill(inst!.pid!, "SIGHUP");
  await until(/event: log\ndata: \{[^\n]*"message":"mark \d+"/);
  // now stop reading while 500 records arrive: only the last 20 are kept for this client
  for (let i = 0; i < 500; i++) run.feed.log({ level: "info", message: `flood ${i}`, time: 0 });
  await sleep(300);
  await until(/"message":"flood 499"/);
  const missed = [...text.matchAll(/event: missed\ndata: \{"missed":(\d+)\}/g)].map((m) => +m[1]!);
  const got = [...text.matchAll(/"message":"flood \d+"/g)].length;
  assert(missed.length > 0, "a missed event");
  assert.equal(missed.reduce((a, b) => a + b, 0) + got, 500, `missed ${missed}, got ${got}`);
  await reader.cancel();
});
