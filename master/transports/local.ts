/**
 * Running instances on this machine with `Deno.Command`. Each instance gets a
 * process group of its own, so a signal reaches its whole process tree.
 * The remote agent uses {@linkcode spawnProcess} too.
 *
 * @module
 */

import type { Exec, InstanceSpec } from "../plan.ts";
import type { ExitStatus, OutputHandler, RunningInstance, Transport } from "./types.ts";
import { StartError } from "./types.ts";

/** What {@linkcode spawnProcess} needs. */
export interface SpawnOptions {
  /** Program and arguments. */
  argv: string[];
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables, added to this process's own. */
  env: Record<string, string>;
  /** Nice value (runs the program through `nice -n`). */
  priority?: number;
  /** Written to stdin as the first line. stdin stays open until the process exits. */
  stdinLine: string;
}

/**
 * The Deno executable that runs Deno-script workers by default: this very
 * runtime, or — when this program is a `deno compile`d binary, which cannot
 * run other scripts — the `deno` found on the PATH.
 */
export function denoRuntime(): string {
  return Deno.build.standalone ? "deno" : Deno.execPath();
}

/**
 * The argv that runs `exec`, with `runtime` as the Deno executable when
 * `exec.binPath` is not set.
 */
export function argvFor(
  exec: Exec,
  runtime: string,
  script: string = exec.kind === "deno" ? exec.script : exec.command,
): string[] {
  if (exec.kind === "deno") {
    return [exec.binPath ?? runtime, "run", "--no-prompt", ...exec.permissions, script];
  }
  return exec.binPath ? [exec.binPath, script] : [script];
}

/** A stream being read into an {@linkcode OutputHandler}. */
interface Pump {
  readonly reader: ReadableStreamBYOBReader;
  /** True while a read waits on the pipe (not while the handler holds it back). */
  reading: boolean;
  /** Resolves once the stream ended, broke or was cancelled. */
  readonly done: Promise<void>;
}

/**
 * Reads a stream into `onOutput` with a BYOB reader whose buffer starts at
 * 1 KiB and doubles (up to 64 KiB) only while reads fill it: an idle
 * instance costs 2 KiB of buffers instead of the default reader's 128 KiB,
 * and a busy one reuses its buffer instead of allocating one per read.
 * The chunk handed over is valid only during the call.
 */
function pump(
  stream: ReadableStream<Uint8Array>,
  name: "stdout" | "stderr",
  onOutput: OutputHandler,
): Pump {
  const reader = stream.getReader({ mode: "byob" });
  const p: { reader: ReadableStreamBYOBReader; reading: boolean; done: Promise<void> } = {
    reader,
    reading: false,
    done: Promise.resolve(),
  };
  p.done = (async () => {
    let buffer = new ArrayBuffer(1024);
    try {
      while (true) {
        p.reading = true;
        const { done, value } = await reader.read(new Uint8Array(buffer));
        p.reading = false;
        if (done || value === undefined) return;
        const busy = onOutput(name, value);
        if (busy !== undefined) await busy; // backpressure: the consumer is behind
        buffer = value.buffer as ArrayBuffer;
        if (value.length === buffer.byteLength && buffer.byteLength < 65536) {
          buffer = new ArrayBuffer(buffer.byteLength * 2);
        }
      }
    } catch {
      // the pipe broke: the process is gone, nothing more to read
    } finally {
      p.reading = false;
      reader.releaseLock();
    }
  })();
  return p;
}

/**
 * How long, in ms, the pipes of an exited instance are still read while
 * something else holds them open (a child that left its process group).
 */
const DRAIN_MS = 1000;
const DRAIN_TICK = 50;

/**
 * Resolves once every pump is done. A pump whose pipe stays open is cancelled
 * after it waited `DRAIN_MS` on that pipe in all; time spent waiting on a slow
 * {@linkcode OutputHandler} does not count, so what the pipe already held is not lost.
 */
function drain(pumps: Pump[]): Promise<void> {
  return new Promise((resolve) => {
    const waited = pumps.map(() => 0);
    const timer = setInterval(() => {
      pumps.forEach((p, i) => {
        if (!p.reading || (waited[i]! += DRAIN_TICK) < DRAIN_MS) return;
        p.reader.cancel().catch(() => {});
      });
    }, DRAIN_TICK);
    Promise.all(pumps.map((p) => p.done)).then(() => {
      clearInterval(timer);
      resolve();
    });
  });
}

const encoder = new TextEncoder();

/**
 * Spawns one process in its own process group and pumps its output.
 * Throws a {@linkcode StartError} when it cannot be started.
 */
export function spawnProcess(options: SpawnOptions, onOutput: OutputHandler): RunningInstance {
  const { argv, cwd, env, priority, stdinLine } = options;
  const full = priority === undefined ? argv : ["nice", "-n", String(priority), ...argv];
  const [program, ...args] = full;
  if (program === undefined || program === "") throw new StartError("empty command");
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(program, {
      args,
      ...(cwd !== undefined ? { cwd } : {}),
      env,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      detached: true,
    }).spawn();
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    throw new StartError(`cannot start ${JSON.stringify(program)}: ${why}`, { cause: error });
  }
  const pid = child.pid;
  const writer = child.stdin.getWriter();
  writer.write(encoder.encode(stdinLine)).catch(() => {});
  const pumps = [pump(child.stdout, "stdout", onOutput), pump(child.stderr, "stderr", onOutput)];
  const status = (async (): Promise<ExitStatus> => {
    const st = await child.status;
    // whatever it left running in its process group goes with it; a child that left the group
    // did so on purpose and is not ours to kill, but it may hold the pipes: read them a moment
    // longer (its exit is the instance's end), then stop reading
    try {
      Deno.kill(-pid, "SIGKILL");
    } catch {
      // nothing left
    }
    await drain(pumps);
    await writer.close().catch(() => {});
    return { code: st.code, signal: st.signal ?? null };
  })();
  return {
    pid,
    kill(signal: Deno.Signal) {
      try {
        Deno.kill(-pid, signal);
      } catch {
        // already gone
      }
    },
    status,
  };
}

/** Runs instances on this machine. */
export class LocalTransport implements Transport {
  /** Always `localhost`. */
  readonly host = "localhost";
  readonly #runtime: string;

  /** @param runtime The Deno executable for Deno scripts. @default {denoRuntime()} */
  constructor(runtime: string = denoRuntime()) {
    this.#runtime = runtime;
  }

  /** Starts one instance; see {@linkcode Transport.start}. */
  start(
    spec: InstanceSpec,
    onOutput: OutputHandler,
    signal: AbortSignal,
  ): Promise<RunningInstance> {
    if (signal.aborted) return Promise.reject(signal.reason);
    try {
      return Promise.resolve(spawnProcess({
        argv: argvFor(spec.exec, this.#runtime),
        ...(spec.cwd !== undefined ? { cwd: spec.cwd } : {}),
        env: spec.env,
        ...(spec.priority !== undefined ? { priority: spec.priority } : {}),
        stdinLine: JSON.stringify(spec.context) + "\n",
      }, onOutput));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Nothing to release. */
  close(): Promise<void> {
    return Promise.resolve();
  }
}
