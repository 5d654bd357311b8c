/**
 * Shared state of the SSH transports of one master process: the private
 * directory of ControlMaster sockets, one ControlMaster per host (an `ssh -N`
 * child we own, started on demand, restarted after a loss, ended by the last
 * transport to close), a per-host queue for probes/uploads, and running
 * one-shot ssh commands.
 *
 * @module
 */

import { ProbeError, type SshResult } from "./_upload.ts";

let defaultDir: string | undefined;

/** `$TMPDIR` when it is short enough for socket paths under it, else `/tmp`. */
function tmpBase(): string {
  const t = Deno.env.get("TMPDIR")?.replace(/\/+$/, "");
  return t !== undefined && t.startsWith("/") && t.length <= 64 ? t : "/tmp";
}

function ensureDir(dir: string): void {
  try {
    Deno.mkdirSync(dir, { mode: 0o700 });
    Deno.chmodSync(dir, 0o700);
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
}

/**
 * The master's private socket directory, `$TMPDIR/distarch-<uid>-<random>`
 * (mode 0700, short enough for a unix socket path; `/tmp` when `TMPDIR` is
 * unset or long): created when a ControlMaster needs it, removed when the
 * last one is released and when the process ends.
 */
export function controlDirFor(): string {
  if (defaultDir === undefined) {
    const rand = crypto.getRandomValues(new Uint8Array(4));
    const suffix = Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("");
    const dir = `${tmpBase()}/distarch-${Deno.uid() ?? "u"}-${suffix}`;
    ensureDir(dir);
    defaultDir = dir;
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* gone */ }
    });
  }
  return defaultDir;
}

/**
 * What the ControlMaster runs on the host: it reads its stdin, a pipe from
 * us, until it ends. So when this process dies, even by SIGKILL, the master
 * sees EOF, its session ends and it exits once its clients are done: no
 * stray ssh outlives us.
 */
const MASTER_COMMAND = "exec cat >/dev/null";

/** One ControlMaster: an ssh child of ours, in the foreground. */
interface Master {
  /** Transports using it. */
  users: number;
  /** Its socket. */
  path: string;
  /** The running ssh, if any. */
  child?: Deno.ChildProcess | undefined;
  /** Resolves once the socket accepts clients; rejects with the master's ssh result. */
  ready?: Promise<void> | undefined;
  /** Resolves once the running ssh has exited. */
  exited?: Promise<void>;
  /** Its stdin: closing it ends it. */
  stdin?: WritableStreamDefaultWriter<Uint8Array> | undefined;
}

const masters = new Map<string, Master>();
let nextSocket = 0;

/**
 * Counts one more user of the ControlMaster for `key` (the ssh args that
 * reach one host, as one string) and returns the socket path its clients use
 * (`<dir>/<n>`, short enough for a unix socket).
 */
export function retainMaster(dir: string, key: string): string {
  let m = masters.get(key);
  if (m === undefined) {
    if (masters.size === 0) ensureDir(dir); // removed when the last master was released
    m = { users: 0, path: `${dir}/${nextSocket++}` };
    masters.set(key, m);
  }
  m.users++;
  return m.path;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure the ControlMaster for `key` runs, starting it with `masterArgs`
 * (from `sshArgs` with `role: "master"`) when it is not: we own it as a child
 * (no ControlPersist fork, so no daemon, no zombie) and end it in
 * {@linkcode releaseMaster}, or it ends when we die (see `MASTER_COMMAND`). Rejects with the ssh result when it cannot connect.
 */
export function ensureMaster(key: string, masterArgs: readonly string[]): Promise<void> {
  const m = masters.get(key);
  if (m === undefined) return Promise.reject(new Error(`no ControlMaster retained for ${key}`));
  if (m.ready !== undefined) return m.ready;
  const child = new Deno.Command("ssh", {
    args: [...masterArgs, MASTER_COMMAND],
    stdin: "piped",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const reading = (async () => {
    const d = new TextDecoder();
    for await (const chunk of child.stderr) stderr = (stderr + d.decode(chunk)).slice(-8192);
  })().catch(() => {});
  let exited = false;
  const status = child.status.then(async (st) => {
    exited = true;
    await reading;
    return st;
  });
  m.child = child;
  m.stdin = child.stdin.getWriter();
  m.exited = status.then(() => {});
  m.ready = (async () => {
    const end = Date.now() + 60_000;
    while (!exited && !(await exists(m.path))) {
      if (Date.now() > end) {
        child.kill("SIGKILL");
        break;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    if (exited) {
      const st = await status;
      throw new ProbeError({ code: st.code, stdout: "", stderr });
    }
  })();
  // once it is gone (link lost, or ended), the next user starts a new one
  status.then(() => {
    if (m.child === child) {
      m.child = undefined;
      m.ready = undefined;
      m.stdin = undefined;
    }
  });
  m.ready.catch(() => {});
  return m.ready;
}

/** One user less; the last one ends the ControlMaster and waits for it. */
export async function releaseMaster(key: string): Promise<void> {
  const m = masters.get(key);
  if (m === undefined) return;
  if (--m.users > 0) return;
  masters.delete(key);
  if (m.child !== undefined) {
    const child = m.child;
    await m.stdin?.close().catch(() => {});
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([m.exited, new Promise((r) => timer = setTimeout(r, 2000))]);
    clearTimeout(timer);
    try {
      child.kill("SIGTERM");
    } catch { /* gone */ }
    await m.exited;
  }
  await Deno.remove(m.path).catch(() => {});
  // the last one: leave no empty directory behind (it is made again when needed)
  if (masters.size === 0 && defaultDir !== undefined && m.path.startsWith(defaultDir + "/")) {
    await Deno.remove(defaultDir).catch(() => {});
  }
}

const queues = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier `fn` of the same `key` has settled. */
export function serialize<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve();
  const next = previous.catch(() => {}).then(fn);
  queues.set(key, next);
  next.finally(() => {
    if (queues.get(key) === next) queues.delete(key);
  }).catch(() => {});
  return next;
}

/** Runs `ssh <args>` to its end; `stdinFile` (a local path) is streamed to its stdin. */
export async function runSsh(args: readonly string[], stdinFile?: string): Promise<SshResult> {
  const child = new Deno.Command("ssh", {
    args: [...args],
    stdin: stdinFile === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const feeding = stdinFile === undefined ? Promise.resolve() : (async () => {
    const file = await Deno.open(stdinFile);
    await file.readable.pipeTo(child.stdin, { preventClose: false });
  })().catch(() => {});
  const [out] = await Promise.all([child.output(), feeding]);
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}
