/**
 * One behaviour suite for every {@linkcode Transport} (as hono runs
 * `src/router/common.case.test.ts` against each router): ids and params on
 * stdin, output relay, exit codes, stop escalation, leftovers killed, and
 * the master's further stdin lines (`groupCount`). `transport_suite_test.ts`
 * runs it against the local transport and, through a loopback sshd, the SSH
 * one. The transports' pids must be pids of this machine (true of both).
 *
 * @module
 */

import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { type InstanceSpec, plan } from "../master/plan.ts";
import { respec } from "../master/_respec.ts";
import type { ProcessConfig } from "../master/types.ts";
import type { ExitStatus, RunningInstance, Transport } from "../master/transports/types.ts";
import { encodeMasterMessage, PREFIX } from "../protocol/worker.ts";
import { pidAlive, waitFor } from "./_helpers.ts";

/** A transport to test, and the process config its instances are planned from. */
export interface TransportFixture extends AsyncDisposable {
  /** The transport under test. */
  transport: Transport;
  /** A one-instance process config of the transport's type. */
  config: ProcessConfig;
}

/** Options of {@linkcode transportSuite}. */
export interface TransportSuiteOptions {
  /** Skip the suite (e.g. no sshd here). @default {false} */
  ignore?: boolean;
  /** Makes the fixture, once for the whole suite. */
  open(): Promise<TransportFixture>;
}

const fixture = (name: string) => new URL(`./fixtures/${name}`, import.meta.url).pathname;
const decoder = new TextDecoder();

const alive = pidAlive;

/** Waits for `cond` (the shared `waitFor`, named for what it waits for). */
const until = (what: string, cond: () => boolean, ms = 20_000) =>
  waitFor(cond, ms, what).then(() => {});

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Resolves with the status, or `"running"` if it has not settled within `ms`. */
function settledWithin(status: Promise<ExitStatus>, ms: number): Promise<ExitStatus | "running"> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    status,
    new Promise<"running">((r) => timer = setTimeout(() => r("running"), ms)),
  ]).finally(() => clearTimeout(timer));
}

interface Started {
  spec: InstanceSpec;
  instance: RunningInstance;
  out(): string;
  err(): string;
}

/**
 * Registers one `Deno.test` named `transport: <name>` whose steps are the
 * shared cases, run against the fixture `options.open()` makes.
 */
export function transportSuite(name: string, options: TransportSuiteOptions): void {
  Deno.test({
    name: `transport: ${name}`,
    ignore: options.ignore ?? false,
    sanitizeResources: false,
    sanitizeOps: false,
    async fn(t) {
      await using f = await options.open();
      const start = async (
        command: string,
        params: Record<string, unknown>,
        edit: (spec: InstanceSpec) => InstanceSpec = (s) => s,
        extra: Partial<ProcessConfig> = {},
      ): Promise<Started> => {
        const config = { ...f.config, ...extra } as ProcessConfig;
        const [planned] = plan([{
          name: "suite",
          command: fixture(command),
          params,
          processes: [config],
        }], {
          cwd: "/",
        });
        const spec = edit(planned!);
        let out = "";
        let err = "";
        const instance = await f.transport.start(spec, (stream, chunk) => {
          if (stream === "stdout") out += decoder.decode(chunk);
          else err += decoder.decode(chunk);
        }, new AbortController().signal);
        return { spec, instance, out: () => out, err: () => err };
      };

      await t.step("ids and params arrive on stdin, never on argv", async () => {
        const params = {
          mode: "context",
          evil: "$(touch /tmp/x)`id`;'\"\n\\ *",
          big: "x".repeat(100_000),
        };
        const r = await start("s_suite.ts", params, (s) => respec(s, 7, 3, 5), {
          permissions: ["--allow-env=DISTARCH_ID"],
        });
        assertEquals(await r.instance.status, { code: 0, signal: null });
        const line = r.out().split("\n").find((l) => l.startsWith(PREFIX + "{"));
        assert(line !== undefined, r.out().slice(0, 300) + r.err());
        const ctx = JSON.parse(line.slice(PREFIX.length)).ctx;
        assertEquals(
          [ctx.id, ctx.groupId, ctx.groupCount, ctx.host, ctx.args, ctx.env],
          [7, 3, 5, r.spec.host, [], "7"],
        );
        assertEquals(ctx.params, params);
      });

      await t.step("stdout and stderr are relayed apart, every line in order", async () => {
        const n = 20_000;
        const r = await start("s_suite.ts", { mode: "lines", lines: n, code: 0 });
        assertEquals((await r.instance.status).code, 0);
        const lines = r.out().split("\n").filter((l) => l.startsWith("line "));
        assertEquals(lines.length, n);
        assert(lines.every((l, i) => l === `line ${i + 1}`), "lines out of order");
        assertEquals(r.err(), "to stderr\n");
      });

      await t.step("exit codes: the worker's own, and 128+n when killed by signal n", async () => {
        const r = await start("s_suite.ts", { mode: "lines", lines: 1, code: 3 });
        assertEquals(await r.instance.status, { code: 3, signal: null });
        const k = await start("s_suite.ts", { mode: "ignore-term" });
        await until("ready", () => k.out().includes("ready"));
        k.instance.kill("SIGKILL");
        assertEquals(await k.instance.status, { code: 137, signal: "SIGKILL" });
      });

      await t.step(
        "stop: SIGTERM asks (a Handler worker ends cleanly), SIGKILL forces",
        async () => {
          const c = await start("s_suite.ts", { mode: "count" });
          await until("count", () => c.out().includes("count"));
          c.instance.kill("SIGTERM");
          assertEquals(await c.instance.status, { code: 0, signal: null });
          assert(c.out().includes(`${PREFIX}ended`), c.out());

          const r = await start("s_suite.ts", { mode: "ignore-term" });
          await until("ready", () => r.out().includes("ready"));
          r.instance.kill("SIGTERM");
          await until("the stop request", () => r.out().includes("ignoring it"));
          assertEquals(await settledWithin(r.instance.status, 500), "running");
          assert(alive(r.instance.pid));
          r.instance.kill("SIGKILL");
          assertEquals(await r.instance.status, { code: 137, signal: "SIGKILL" });
          assert(!alive(r.instance.pid));
        },
      );

      await t.step("leftovers in the instance's process group are killed", async () => {
        // exits at once, leaving a sleep behind in its group
        const r = await start("t_leaves_child.sh", {});
        assertEquals(await r.instance.status, { code: 0, signal: null });
        const child = Number(/child (\d+)/.exec(r.out())?.[1]);
        assert(child > 0, r.out());
        await until(`child ${child} gone`, () => !alive(child), 3000);

        // ignores SIGTERM, and so does its grandchild: SIGKILL to the group ends both
        const tree = await start("t_term_tree.sh", {});
        await until("grandchild", () => /grandchild \d+/.test(tree.out()));
        const grandchild = Number(/grandchild (\d+)/.exec(tree.out())?.[1]);
        tree.instance.kill("SIGTERM");
        await sleep(300);
        assert(alive(tree.instance.pid) && alive(grandchild), "SIGTERM was not ignored");
        tree.instance.kill("SIGKILL");
        assertEquals((await tree.instance.status).signal, "SIGKILL");
        await until(`grandchild ${grandchild} gone`, () => !alive(grandchild), 3000);
      });

      await t.step("send(): the master's groupCount lines reach a running Handler", async () => {
        const r = await start("s_suite.ts", { mode: "count" }, (s) => respec(s, 1, 1, 2));
        await until("count 2", () => r.out().includes("count 2\n"));
        r.instance.send(encodeMasterMessage({ v: 1, t: "groupCount", groupCount: 5 }));
        r.instance.send("not a message, ignored\n");
        r.instance.send(encodeMasterMessage({ v: 1, t: "groupCount", groupCount: 1 }));
        await until("count 1", () => r.out().includes("count 1 was 5\n"), 10_000);
        assert(r.out().includes("count 5 was 2\ncount 1 was 5\n"), r.out());
        r.instance.kill("SIGTERM");
        assertEquals(await r.instance.status, { code: 0, signal: null });
        r.instance.send(encodeMasterMessage({ v: 1, t: "groupCount", groupCount: 9 })); // dropped
      });
    },
  });
}
