import { deepEqual as assertEquals, ok as assert, rejects } from "node:assert/strict";
import { plan } from "../master/plan.ts";
import type { InstanceSpec } from "../master/plan.ts";
import type { LogRecord, RemoteProcessConfig } from "../master/types.ts";
import { SshTransport } from "../master/transports/ssh.ts";
import { type RunningInstance, StartError } from "../master/transports/types.ts";
import { runtimeArtifact } from "../master/transports/_upload.ts";
import { PREFIX } from "../protocol/worker.ts";
import { descendantsOf, type SshdFixture, sshdUnavailable, startSshd } from "./_sshd.ts";
import { pidAlive, waitFor } from "./_helpers.ts";

const ignore = sshdUnavailable() !== undefined;
const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const decoder = new TextDecoder();

function specsFor(
  command: string,
  config: RemoteProcessConfig,
  params: Record<string, unknown> = {},
): InstanceSpec[] {
  return plan([{ name: "g", command, params, processes: [config] }], { cwd: "/" });
}

class Collector {
  records: LogRecord[] = [];
  log = (r: LogRecord) => void this.records.push(r);
  get logger() {
    return { log: this.log };
  }
}

/** Starts `spec` and gathers its stdout as text. */
async function run(t: SshTransport, spec: InstanceSpec) {
  let out = "";
  const instance = await t.start(
    spec,
    (stream, chunk) => {
      out += (stream === "stderr" ? "E:" : "") + decoder.decode(chunk);
    },
    new AbortController().signal,
  );
  return { instance, output: () => out };
}

function contextOf(output: string): Record<string, unknown> {
  const line = output.split("\n").find((l) => l.startsWith(PREFIX + "{"));
  assert(line !== undefined, output.slice(0, 500));
  return JSON.parse(line.slice(PREFIX.length)).ctx;
}

const alive = pidAlive;

/** Waits for `cond` (the shared `waitFor`, named for what it waits for). */
const until = (what: string, cond: () => boolean, ms: number) =>
  waitFor(cond, ms, what).then(() => {});

function transports(sshd: SshdFixture, c: Collector, config = sshd.remoteConfig()) {
  return sshd.hosts.map((host) =>
    new SshTransport({ host, config, logger: c.logger, lease: 3, gracePeriod: 1 })
  );
}

async function closeAll(ts: SshTransport[]) {
  await Promise.all(ts.map((t) => t.close()));
}

Deno.test({
  name: "SshTransport: zero install on 2 hosts, cold then warm; output and exit status relayed",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 2 });
    const config = sshd.remoteConfig({ instances: 2 });
    const specs = specsFor(fixture("w_echo_context.ts"), config, { message: "hi" });
    for (const round of ["cold", "warm"]) {
      const c = new Collector();
      const ts = transports(sshd, c, config);
      const t0 = performance.now();
      try {
        const runs = await Promise.all(specs.map((s) => run(ts[sshd.hosts.indexOf(s.host)]!, s)));
        const startMs = performance.now() - t0;
        for (const [i, r] of runs.entries()) {
          assertEquals(await r.instance.status, { code: 0, signal: null });
          const ctx = contextOf(r.output());
          assertEquals(ctx.host, specs[i]!.host);
          assertEquals(ctx.id, specs[i]!.id);
          assertEquals(ctx.params, { message: "hi" });
        }
        const uploads = c.records.filter((r) => r.message.startsWith("uploaded"));
        console.log(
          `${round}: ${specs.length} instances on 2 hosts started in ${startMs.toFixed(0)} ms; ` +
            uploads.map((r) => r.message).join("; "),
        );
        if (round === "cold") {
          // one probe and one upload round per host at most: the agent and the worker together
          // (the two hosts share one home: what one uploaded the other may find there)
          const hosts = uploads.map((u) => u.host);
          assertEquals(new Set(hosts).size, hosts.length, JSON.stringify(c.records));
          const all = uploads.map((u) => u.message).join("; ");
          assert(/agent\.js/.test(all) && /w_echo_context\.js/.test(all), all);
        } else {
          assertEquals(uploads, []);
        }
      } finally {
        await closeAll(ts);
      }
    }
    const cached = [...Deno.readDirSync(`${sshd.home}/.cache/distarch`)];
    assertEquals(cached.length, 3);
  },
});

Deno.test({
  name:
    "SshTransport: killing the ssh client stops the remote instance within the lease, then reconnects",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const c = new Collector();
    const [t] = transports(sshd, c);
    try {
      const [spec] = specsFor(fixture("w_sleep.ts"), sshd.remoteConfig());
      const r = await run(t!, spec!);
      await until("ready", () => r.output().includes("ready"), 10_000);
      assert(alive(r.instance.pid));
      const clients = descendantsOf(Deno.pid).filter((pid) => {
        const cmd = Deno.readTextFileSync(`/proc/${pid}/cmdline`);
        const argv = cmd.split("\0");
        return /(^|\/)ssh$/.test(argv[0]!) && cmd.includes("agent.js") &&
          argv.includes(String(sshd.port)); // tests of other files run in this process too
      });
      assertEquals(clients.length, 1);
      const t0 = Date.now();
      Deno.kill(clients[0]!, "SIGKILL");
      const st = await r.instance.status;
      assertEquals([st.code, st.signal], [255, null]);
      assert(st.lost, "no lost reason");
      await until("remote instance gone", () => !alive(r.instance.pid), 5_000);
      console.log(`remote instance gone ${Date.now() - t0} ms after the ssh client was killed`);
      assert(c.records.some((x) => x.level === "warning" && x.host === sshd.hosts[0]));
      const again = await run(t!, spec!);
      await until("ready again", () => again.output().includes("ready"), 15_000);
      again.instance.kill("SIGTERM");
      const st2 = await again.instance.status;
      assertEquals(st2.lost, undefined);
    } finally {
      await t!.close();
    }
  },
});

Deno.test({
  name: "SshTransport: an unreachable host is a clear non-fatal StartError",
  ignore,
  async fn() {
    const l = Deno.listen({ hostname: "127.0.0.2", port: 0 });
    const port = (l.addr as Deno.NetAddr).port;
    l.close();
    const c = new Collector();
    const config: RemoteProcessConfig = {
      type: "remote",
      hosts: ["127.0.0.2"],
      instances: 1,
      port,
    };
    const t = new SshTransport({ host: "127.0.0.2", config, logger: c.logger });
    try {
      const [spec] = specsFor(fixture("w_sleep.ts"), config);
      await rejects(t.start(spec!, () => {}, new AbortController().signal), (e: unknown) => {
        assert(e instanceof StartError);
        assert(!e.fatal);
        assert(e.message.includes("127.0.0.2") && /refused/i.test(e.message), e.message);
        return true;
      });
    } finally {
      await t.close();
    }
  },
});

Deno.test({
  name: "SshTransport: a refused key is a fatal StartError, logged once",
  ignore,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const c = new Collector();
    const config = sshd.remoteConfig({ privateKey: `${sshd.knownHostsFile}.nokey` });
    const [t] = transports(sshd, c, config);
    try {
      const [spec] = specsFor(fixture("w_sleep.ts"), config);
      for (let i = 0; i < 2; i++) {
        await rejects(t!.start(spec!, () => {}, new AbortController().signal), (e: unknown) => {
          assert(e instanceof StartError && e.fatal, String(e));
          assert(e.message.includes(sshd.hosts[0]!) && e.message.includes("Permission denied"));
          return true;
        });
      }
      assertEquals(c.records.filter((r) => r.level === "error").length, 1);
    } finally {
      await t!.close();
    }
  },
});

Deno.test({
  name: "SshTransport: params and cwd with shell syntax and a 1 MB context arrive intact",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const evil = "$(touch /tmp/distarch-pwned)`touch /tmp/distarch-pwned`;'\"\n\\ *";
    const cwd = `${sshd.home}/dir $(x) 'q' \`y\`;z`;
    await Deno.mkdir(cwd);
    const owner = Deno.statSync(sshd.home);
    await Deno.chown(cwd, owner.uid, owner.gid);
    const c = new Collector();
    const config = sshd.remoteConfig({ path: cwd });
    const [t] = transports(sshd, c, config);
    try {
      const params = { evil, big: "x".repeat(1_000_000) };
      const [spec] = specsFor(fixture("w_echo_context.ts"), config, params);
      spec!.env.EVIL = evil;
      const r = await run(t!, spec!);
      assertEquals(await r.instance.status, { code: 0, signal: null });
      assertEquals(contextOf(r.output()).params, params);
      assert(!(await Deno.stat("/tmp/distarch-pwned").then(() => true, () => false)));
      const pwd = await run(t!, { ...spec!, exec: { kind: "binary", command: "/bin/pwd" } });
      assertEquals((await pwd.instance.status).code, 0);
      assertEquals(pwd.output(), cwd + "\n");
      const env = await run(t!, {
        ...spec!,
        exec: { kind: "binary", command: "/usr/bin/printenv" },
        cwd: "/",
      });
      await env.instance.status;
      assert(env.output().includes(`EVIL=${evil}\n`), env.output().slice(0, 300));
    } finally {
      await t!.close();
    }
  },
});

Deno.test({
  name: "SshTransport: relays a flood of lines from a remote instance",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const c = new Collector();
    const [t] = transports(sshd, c);
    try {
      const n = 200_000;
      const [spec] = specsFor(fixture("w_flood.ts"), sshd.remoteConfig(), { lines: n });
      await run(t!, spec!); // warm up: uploads
      let lines = 0;
      let tail = "";
      const t0 = performance.now();
      const instance: RunningInstance = await t!.start(spec!, (_s, chunk) => {
        for (const b of chunk) if (b === 10) lines++;
        tail = (tail + decoder.decode(chunk.subarray(-200))).slice(-400);
      }, new AbortController().signal);
      assertEquals((await instance.status).code, 0);
      const ms = performance.now() - t0;
      assert(lines >= n, `${lines} lines`);
      assert(tail.includes(`flood ${n} `), tail);
      console.log(
        `relayed ${n} lines (${(n * 75 / 1e6).toFixed(0)} MB) over ssh in ${ms.toFixed(0)} ms: ` +
          `${(n / ms * 1000).toFixed(0)} lines/s`,
      );
    } finally {
      await t!.close();
    }
  },
});

Deno.test({
  name:
    "SshTransport: a binPath runtime on the host runs the agent and workers; a missing one is fatal",
  ignore,
  sanitizeResources: false,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const rt = await runtimeArtifact();
    const binPath = `${sshd.home}/.cache/distarch/${rt.hash}/deno`; // seeded there
    for (const [bin, works] of [[binPath, true], ["no-such-deno", false]] as const) {
      const c = new Collector();
      const config = sshd.remoteConfig({ binPath: bin });
      const [t] = transports(sshd, c, config);
      try {
        const [spec] = specsFor(fixture("w_echo_context.ts"), config, { b: 1 });
        assertEquals(spec!.exec.kind === "deno" && spec!.exec.binPath, bin);
        if (works) {
          const r = await run(t!, spec!);
          assertEquals(await r.instance.status, { code: 0, signal: null });
          assertEquals(contextOf(r.output()).params, { b: 1 });
        } else {
          await rejects(t!.start(spec!, () => {}, new AbortController().signal), (e: unknown) => {
            assert(e instanceof StartError && e.fatal, String(e));
            assert(e.message.includes("no-such-deno"), e.message);
            return true;
          });
          assertEquals(c.records.filter((r) => r.level === "error").length, 1);
        }
      } finally {
        await t!.close();
      }
    }
  },
});
