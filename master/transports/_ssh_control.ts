/**
 * Shared state of the SSH transports of one master process: the private
 * directory of ControlMaster sockets, a reference count per ControlMaster (the
 * last transport to close ends it with `ssh -O exit`), a per-host queue for
 * probes/uploads, and running one-shot ssh commands.
 *
 * @module
 */

import type { SshResult } from "./_upload.ts";

let defaultDir: string | undefined;

/**
 * The master's private socket directory, `/tmp/distarch-<uid>-<random>`
 * (mode 0700, short enough for a unix socket path); created on first use and
 * removed when the process ends.
 */
export function controlDirFor(): string {
  if (defaultDir === undefined) {
    const rand = crypto.getRandomValues(new Uint8Array(4));
    const suffix = Array.from(rand, (b) => b.toString(16).padStart(2, "0")).join("");
    const dir = `/tmp/distarch-${Deno.uid() ?? "u"}-${suffix}`;
    Deno.mkdirSync(dir, { mode: 0o700 });
    Deno.chmodSync(dir, 0o700);
    defaultDir = dir;
    globalThis.addEventListener("unload", () => {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch { /* gone */ }
    });
  }
  return defaultDir;
}

const masters = new Map<string, number>();

function masterKey(dir: string, args: readonly string[]): string {
  return dir + "\0" + args.join("\0");
}

/** Counts one more user of the ControlMaster that `args` (from `sshArgs`) reach. */
export function retainMaster(dir: string, args: readonly string[]): void {
  const key = masterKey(dir, args);
  masters.set(key, (masters.get(key) ?? 0) + 1);
}

/** One user less; the last one ends the ControlMaster (and waits for it). */
export async function releaseMaster(dir: string, args: readonly string[]): Promise<void> {
  const key = masterKey(dir, args);
  const n = (masters.get(key) ?? 1) - 1;
  if (n > 0) {
    masters.set(key, n);
    return;
  }
  masters.delete(key);
  await runSsh(["-O", "exit", ...args]);
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
