/**
 * Test helpers for the CLI tests (tests/cli_*_test.ts): run `cli.ts` as a
 * subprocess, as a user would, with deadlines and cleanup.
 *
 * @module
 */

/** Absolute path of cli.ts. */
export const CLI = new URL("../cli.ts", import.meta.url).pathname;
/** Absolute path of the repository root, with a trailing slash. */
export const ROOT = new URL("../", import.meta.url).pathname;

/** What a finished CLI run gave. */
export interface CliResult {
  /** Exit code. */
  code: number;
  /** Everything printed on stdout. */
  stdout: string;
  /** Everything printed on stderr. */
  stderr: string;
}

/** Options of {@linkcode distarch} and {@linkcode startMaster}. */
export interface CliOptions {
  /** Working directory. @default {the repository root} */
  cwd?: string;
  /** Extra environment. @default {{}} */
  env?: Record<string, string>;
  /** Milliseconds before the run is killed and the call throws. @default {20000} */
  timeout?: number;
}

/** Runs `cli.ts args…` to its end; throws when it outlives `timeout`. */
export async function distarch(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const { cwd = ROOT, env = {}, timeout = 20_000 } = options;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", CLI, ...args],
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), timeout);
  const out = await child.output();
  clearTimeout(timer);
  const dec = new TextDecoder();
  const res = { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
  if (out.signal === "SIGKILL") {
    throw new Error(`distarch ${args.join(" ")} did not end within ${timeout} ms\n${res.stderr}`);
  }
  return res;
}

/** A running `distarch run`. */
export interface Master extends AsyncDisposable {
  /** The subprocess. */
  child: Deno.ChildProcess;
  /** Its stdout so far. */
  stdout(): string;
  /** Its stderr so far. */
  stderr(): string;
  /** Resolves to its exit code; throws (and kills it) after `ms`. */
  exit(ms?: number): Promise<number>;
}

/** Options of {@linkcode startMaster}. */
export interface MasterOptions extends CliOptions {
  /** A command the master is started through, e.g. `["prlimit", "--nofile=256:256"]`. @default {[]} */
  wrapper?: string[];
}

/** Starts `cli.ts run args…` and waits until `socket` answers `ps` (or the master ends). */
export async function startMaster(
  args: string[],
  socket: string,
  options: MasterOptions = {},
): Promise<Master> {
  const { cwd = ROOT, env = {}, timeout = 15_000, wrapper = [] } = options;
  const argv = [Deno.execPath(), "run", "-A", CLI, "run", "--socket", socket, ...args];
  const child = new Deno.Command(wrapper[0] ?? argv[0]!, {
    args: [...wrapper.slice(1), ...(wrapper.length > 0 ? argv : argv.slice(1))],
    cwd,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let out = "", err = "";
  const pump = async (s: ReadableStream<Uint8Array>, add: (t: string) => void) => {
    for await (const t of s.pipeThrough(new TextDecoderStream())) add(t);
  };
  const pumped = Promise.all([
    pump(child.stdout, (t) => out += t),
    pump(child.stderr, (t) => err += t),
  ]);
  let ended = false;
  const status = child.status.then(async (s) => {
    ended = true;
    await pumped;
    return s.code;
  });
  const master: Master = {
    child,
    stdout: () => out,
    stderr: () => err,
    async exit(ms = timeout) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const deadline = new Promise<never>((_, reject) =>
        timer = setTimeout(() => {
          try {
            child.kill("SIGKILL");
          } catch { /* gone */ }
          reject(new Error(`the master did not end within ${ms} ms\n${out.slice(-2000)}\n${err}`));
        }, ms)
      );
      try {
        return await Promise.race([status, deadline]);
      } finally {
        clearTimeout(timer);
      }
    },
    async [Symbol.asyncDispose]() {
      if (!ended) {
        try {
          child.kill("SIGKILL");
        } catch { /* gone */ }
      }
      await status;
    },
  };
  const end = Date.now() + timeout;
  while (!ended) {
    try {
      (await Deno.connect({ transport: "unix", path: socket })).close();
      return master;
    } catch {
      if (Date.now() > end) {
        await master[Symbol.asyncDispose]();
        throw new Error(`the master did not open ${socket} within ${timeout} ms\n${err}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  return master;
}

/** Options of {@linkcode tempDir}. */
export interface TempDirOptions {
  /** Start of the directory's name. @default {"distarch-cli-"} */
  prefix?: string;
}

/** A fresh temporary directory, removed by the returned disposer (`using`). */
export function tempDir(options: TempDirOptions = {}): { path: string } & Disposable {
  const { prefix = "distarch-cli-" } = options;
  const path = Deno.makeTempDirSync({ prefix });
  return {
    path,
    [Symbol.dispose]() {
      try {
        Deno.removeSync(path, { recursive: true });
      } catch { /* gone */ }
    },
  };
}
