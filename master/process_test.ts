import assert from "node:assert/strict";
import { type InstanceSpec, plan } from "./plan.ts";
import { Instance, type SupervisorSettings } from "./process.ts";
import type { ExitStatus, OutputHandler, RunningInstance, Transport } from "./transports/types.ts";
import type { LogRecord } from "./types.ts";

const SETTINGS: SupervisorSettings = {
  restart: "on-failure",
  maxRestarts: 5,
  maxProcessTimeouts: 3,
  graceMs: 1000,
  backoffInitialMs: 0,
  backoffMaxMs: 0,
  backoffResetMs: 30_000,
};

/** A transport whose instances print and exit when the test says so. */
class FakeTransport implements Transport {
  readonly host = "localhost";
  readonly runs: {
    print(text: string): void;
    exit(code: number): void;
  }[] = [];
  start(_spec: InstanceSpec, onOutput: OutputHandler): Promise<RunningInstance> {
    const exited = Promise.withResolvers<ExitStatus>();
    this.runs.push({
      print: (text) => void onOutput("stdout", new TextEncoder().encode(text)),
      exit: (code) => exited.resolve({ code, signal: null }),
    });
    return Promise.resolve({
      pid: 1000 + this.runs.length,
      kill: (signal) => exited.resolve({ code: 143, signal }),
      status: exited.promise,
    });
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
}

function instance(settings: Partial<SupervisorSettings> = {}) {
  const [spec] = plan([{
    name: "G",
    command: "/bin/true",
    processes: [{ type: "local", instances: 1 }],
  }], { cwd: "/", isFile: () => true });
  const transport = new FakeTransport();
  const logs: LogRecord[] = [];
  const inst = new Instance(spec!, transport, { log: (r) => logs.push(r) }, {}, {
    ...SETTINGS,
    ...settings,
  });
  return { inst, transport, logs };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("Instance.whenAlive() resolves once the running instance has printed", async () => {
  const { inst, transport } = instance();
  inst.start();
  let alive = false;
  const waiting = inst.whenAlive().then(() => alive = true);
  await tick();
  assert.equal(inst.state, "running");
  assert.equal(alive, false, "running but silent is not alive");
  transport.runs[0]!.print("hello\n");
  await waiting;
  assert.equal(inst.alive, true);
  await inst.whenAlive(); // at once now
  await inst.stop("stopped");
});

Deno.test("Instance.whenAlive() waits through a restart, and rejects once the instance is done", async () => {
  const { inst, transport } = instance({ maxRestarts: 1 });
  inst.start();
  const waiting = inst.whenAlive();
  await tick();
  transport.runs[0]!.exit(1); // crash: restarted (backoff 0)
  await tick();
  await tick();
  assert.equal(transport.runs.length, 2, "started again");
  transport.runs[1]!.exit(1); // given up
  await assert.rejects(waiting, /is done \(state failed\) and not alive/);
  assert.equal(inst.state, "failed");
  await assert.rejects(inst.whenAlive(), /state failed/, "done already: at once");
});

Deno.test("Instance.whenAlive() rejects with the signal's reason when it aborts first", async () => {
  const { inst } = instance();
  inst.start();
  const abort = new AbortController();
  const waiting = inst.whenAlive(abort.signal);
  abort.abort(new Error("too late"));
  await assert.rejects(waiting, /too late/);
  await inst.stop("stopped");
});
