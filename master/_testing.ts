/**
 * Test helpers for the master's unit tests (not published): a transport
 * whose instances print and exit when the test says, and an
 * {@linkcode Instance} on it.
 *
 * @module
 */

import { type InstanceSpec, plan } from "./plan.ts";
import { Instance } from "./instance.ts";
import type { SupervisorSettings } from "./_settings.ts";
import type { ExitStatus, OutputHandler, RunningInstance, Transport } from "./transports/types.ts";
import type { LogRecord } from "./types.ts";

/** Settings for tests: no backoff. */
export const TEST_SETTINGS: SupervisorSettings = {
  restart: "on-failure",
  maxRestarts: 5,
  maxProcessTimeouts: 3,
  graceMs: 1000,
  backoffInitialMs: 0,
  backoffMaxMs: 0,
  backoffResetMs: 30_000,
};

/** One run started by a {@linkcode FakeTransport}. */
export interface FakeRun {
  /** Prints `text` on its stdout. */
  print(text: string): void;
  /** Ends it with this exit code. */
  exit(code: number): void;
  /** What the master wrote to its stdin after the context, in order. */
  readonly sent: string[];
  /** What it was started with. */
  readonly spec: InstanceSpec;
}

/** A transport whose instances print and exit when told (or print `greeting` when started). */
export class FakeTransport implements Transport {
  readonly host = "localhost";
  /** Every run started, in order. */
  readonly runs: FakeRun[] = [];
  readonly #greeting: string | undefined;
  /** `greeting`: printed by every run as soon as it starts. */
  constructor(options: { greeting?: string } = {}) {
    this.#greeting = options.greeting;
  }
  /** Starts a run. */
  start(spec: InstanceSpec, onOutput: OutputHandler): Promise<RunningInstance> {
    const exited = Promise.withResolvers<ExitStatus>();
    const run: FakeRun = {
      print: (text) => void onOutput("stdout", new TextEncoder().encode(text)),
      exit: (code) => exited.resolve({ code, signal: null }),
      sent: [],
      spec,
    };
    this.runs.push(run);
    const greeting = this.#greeting;
    if (greeting !== undefined) setTimeout(() => run.print(greeting), 0);
    return Promise.resolve({
      pid: 1000 + this.runs.length,
      kill: (signal) => exited.resolve({ code: 143, signal }),
      send: (text) => void run.sent.push(text),
      status: exited.promise,
    });
  }
  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}

/** `count` instances of one local group on a fresh {@linkcode FakeTransport}. */
export function fakeInstances(
  count: number,
  options: { settings?: Partial<SupervisorSettings>; greeting?: string } = {},
): { instances: Instance[]; transport: FakeTransport; logs: LogRecord[] } {
  const specs = plan([{
    name: "G",
    command: "/bin/true",
    processes: [{ type: "local", instances: count }],
  }], { cwd: "/", isFile: () => true });
  const transport = new FakeTransport(
    options.greeting === undefined ? {} : { greeting: options.greeting },
  );
  const logs: LogRecord[] = [];
  const settings = { ...TEST_SETTINGS, ...options.settings };
  const logger = { log: (r: LogRecord) => void logs.push(r) };
  const instances = specs.map((s) => new Instance(s, transport, logger, {}, settings));
  return { instances, transport, logs };
}
