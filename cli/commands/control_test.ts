import { deepStrictEqual as eq, rejects } from "node:assert/strict";
import { leftMessage, stopCommand } from "./control.ts";
import { CliError, EXIT } from "../_errors.ts";
import { controlHandler } from "../control_api.ts";
import { ControlServer } from "../control_server.ts";
import { Handover } from "../_handover.ts";
import { LogRing } from "../log_ring.ts";
import type { Launcher, RunSummary } from "../../master/launcher.ts";
import type { InstanceInfo } from "../../master/events.ts";

const running = (id: number): InstanceInfo => ({
  id,
  groupId: id,
  groupCount: 2,
  group: "g",
  host: "localhost",
  label: "g",
  state: "running",
  pid: 1000 + id,
  ready: true,
  restarts: 0,
  runs: 1,
});

/** A master in this process whose launcher's leave() does what `leave` says. */
async function fakeMaster(leave: () => Promise<void>) {
  const dir = Deno.makeTempDirSync({ prefix: "distarch-leave-" });
  const path = `${dir}/c.sock`;
  let leaves = 0;
  const launcher = {
    list: () => [running(1), running(2)],
    leave: () => (leaves++, leave()),
  } as unknown as Launcher;
  const server = await ControlServer.listen(
    path,
    controlHandler({
      launcher,
      ring: new LogRing(),
      done: new Promise<RunSummary>(() => {}),
      startedAt: Date.now(),
      handover: new Handover(launcher, 30),
    }),
  );
  return {
    path,
    leaves: () => leaves,
    async [Symbol.asyncDispose]() {
      await server.close();
      Deno.removeSync(dir, { recursive: true });
    },
  };
}

async function printed(fn: () => Promise<unknown>): Promise<string[]> {
  const lines: string[] = [];
  const log = console.log;
  console.log = (...a: unknown[]) => lines.push(a.join(" "));
  try {
    await fn();
  } finally {
    console.log = log;
  }
  return lines;
}

Deno.test("leftMessage() says how many instances run on and for how long", () => {
  eq(
    leftMessage({ instances: 4, adoptWindow: 30 }),
    'master left 4 instances running: a new "distarch run" with this socket adopts them ' +
      "within 30 s (adoptWindow)",
  );
  eq(
    leftMessage({ instances: 1, adoptWindow: 5 }).startsWith("master left 1 instance running"),
    true,
  );
});

/** The CliError `p` rejects with (fails when it resolves). */
async function failure(p: Promise<unknown>): Promise<CliError> {
  let caught: unknown;
  await rejects(p.catch((e) => {
    caught = e;
    throw e;
  }));
  if (!(caught instanceof CliError)) throw caught;
  return caught;
}

Deno.test("stop --leave-running is a flag: an argument or a misspelling is a usage error", async () => {
  const extra = await failure(stopCommand(["--leave-running", "now"]));
  eq([extra.exitCode, extra.message], [
    EXIT.usage,
    'unexpected argument(s) "now" (see "distarch stop --help")',
  ]);
  const typo = await failure(stopCommand(["--leave-runing"]));
  eq(typo.exitCode, EXIT.usage);
});

Deno.test("stop --leave-running prints what the master left and exits 0", async () => {
  await using master = await fakeMaster(() => Promise.resolve());
  let code: number | undefined;
  const out = await printed(async () =>
    code = await stopCommand(["--leave-running", "--socket", master.path])
  );
  eq(code, EXIT.ok);
  eq(out, [leftMessage({ instances: 2, adoptWindow: 30 })]);
  eq(master.leaves(), 1);
});

Deno.test("stop --leave-running prints the launcher's refusal and exits 1; the master keeps serving", async () => {
  await using master = await fakeMaster(() =>
    Promise.reject(new Error("Launcher.leave() is not implemented yet"))
  );
  const e = await failure(stopCommand(["--leave-running", "--socket", master.path]));
  eq(e.exitCode, EXIT.failed);
  eq(
    e.message,
    "the master did not leave, it keeps running with its instances: " +
      "Launcher.leave() is not implemented yet",
  );
  // still answering: a second try reaches the launcher again
  await failure(stopCommand(["--leave-running", "--socket", master.path]));
  eq(master.leaves(), 2);
});
