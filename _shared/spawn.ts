/**
 * Spawning one instance on this machine: the code both the master's local
 * transport and the host agent (`slave/agent.ts`) use, so it lives below both
 * and imports nothing from either. Each instance gets a process group of its
 * own, so a signal reaches its whole process tree, and whatever it leaves in
 * that group is killed when it exits.
 *
 * @module
 */

import { errorMessage } from "./errors.ts";

/**
 * Receives an instance's output, chunk by chunk, in order. A chunk is valid only during the
 * call: copy what you keep. Returning a promise pauses reading that stream until it settles
 * (backpressure).
 */
export type OutputHandler = (
  stream: "stdout" | "stderr",
  chunk: Uint8Array,
) => void | Promise<void>;

/** How an instance ended. */
export interface ExitStatus {
  /** Exit code; 128+n when killed by signal n. */
  code: number;
  /** The signal that killed it, if any. */
  signal: string | null;
  /** Set when the link to its host was lost: the instance was stopped by its agent, not by itself. */
  lost?: string;
}

/** A started instance. */
export interface RunningInstance {
  /** Its pid on its host. */
  readonly pid: number;
  /** Sends a signal to its whole process group. Never throws. */
  kill(signal: Deno.Signal): void;
  /**
   * Writes `text` to its stdin, after its context line and in order with
   * earlier calls (the master's further protocol lines, newline included).
   * Never throws; once it has exited, `text` is dropped.
   */
  send(text: string): void;
  /**
   * Resolves once it has exited and its output was handed to the {@linkcode OutputHandler}:
   * all of it, unless a child that left its process group holds its pipes open; then what
   * came until about a second after the exit (the rest is not read).
   */
  readonly status: Promise<ExitStatus>;
}

/** Thrown when an instance could not be started (by {@linkcode spawnProcess}, or a transport). */
export class StartError extends Error {
  /** True when retrying cannot help (authentication refused, runtime missing…). */
  readonly fatal: boolean;
  /**
   * True when the host was reached before and cannot be now: an outage, not
   * the instance's failure, so it is retried until the host is back.
   */
  readonly outage: boolean;
  /** Creates the error. */
  constructor(
    message: string,
    options: { fatal?: boolean; outage?: boolean; cause?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.name = "StartError";
    this.fatal = options.fatal ?? false;
    this.outage = !this.fatal && (options.outage ?? false);
  }
}

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
/**
 * The largest read from an instance's pipe: a little under a pipe's 64 KiB,
 * so that a chunk the host agent forwards as a frame (with its 9-byte
 * header) still fits in the pipe to the master in one write.
 */
const MAX_READ = 65536 - 512;

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
        if (value.length === buffer.byteLength && buffer.byteLength < MAX_READ) {
          buffer = new ArrayBuffer(Math.min(MAX_READ, buffer.byteLength * 2));
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
    const why = errorMessage(error);
    throw new StartError(`cannot start ${JSON.stringify(program)}: ${why}`, { cause: error });
  }
  const pid = child.pid;
  const writer = child.stdin.getWriter();
  const send = (text: string) => void writer.write(encoder.encode(text)).catch(() => {});
  send(stdinLine);
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
    send,
    status,
  };
}
