/**
 * The baselines of the remote benchmarks: what plain OpenSSH commands do
 * with the same bundled worker from the host's cache, the same runtime, the
 * same context line on stdin and the fixture's key, port and known_hosts.
 *
 * @module
 */

import { remoteCommand, remoteScript } from "../master/transports/_ssh_args.ts";
import { contextLine, countLines } from "./_plain.ts";
import { within } from "./_distarch.ts";

const LIMIT_MS = 120_000;
const encoder = new TextEncoder();

/** How to reach the hosts: what the sshd fixture gives. */
export interface SshTarget {
  /** Host addresses. */
  hosts: string[];
  /** Port (the same on every host). */
  port: number;
  /** Login user. */
  user: string;
  /** Client private key. */
  privateKey: string;
  /** known_hosts file. */
  knownHostsFile: string;
}

/** What a plain remote worker runs: the cached runtime and bundle, by remote path. */
export interface RemoteWorker {
  /** Remote path of the Deno runtime. */
  runtime: string;
  /** Remote path of the bundled worker script. */
  bundle: string;
  /** Extra Deno flags (permissions). @default {[]} */
  flags?: string[];
}

/** Plain ssh arguments up to the host (no multiplexing unless `extra` asks for it). */
export function plainArgs(t: SshTarget, host: string, extra: readonly string[] = []): string[] {
  return [
    "-T",
    "-o",
    "BatchMode=yes",
    "-p",
    String(t.port),
    "-l",
    t.user,
    "-i",
    t.privateKey,
    "-o",
    "IdentitiesOnly=yes",
    "-o",
    `UserKnownHostsFile=${t.knownHostsFile}`,
    ...extra,
    "--",
    host,
  ];
}

/** A plain `ssh` child: stdout piped, stdin kept open, stderr kept (its tail). */
export interface SshChild {
  /** The ssh client. */
  child: Deno.ChildProcess;
  /** Its stdin; closing it ends the remote workers (their stdin ends). */
  stdin: WritableStreamDefaultWriter<Uint8Array>;
  /** Its stderr, once it exited. */
  stderr: Promise<string>;
}

/** Spawns `ssh <args> <command>` and writes `input` on its stdin (kept open). */
export function spawnSsh(args: readonly string[], command: string, input = ""): SshChild {
  const child = new Deno.Command("ssh", {
    args: [...args, command],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const stdin = child.stdin.getWriter();
  if (input !== "") stdin.write(encoder.encode(input)).catch(() => {});
  const stderr = new Response(child.stderr).text().then((s) => s.slice(-2000)).catch(() => "");
  return { child, stdin, stderr };
}

/** Ends the children: closes their stdin, waits up to `ms`, then SIGKILLs our ssh clients. */
export async function endAll(children: readonly SshChild[], ms = 10_000): Promise<void> {
  await Promise.all(children.map((c) => c.stdin.close().catch(() => {})));
  let timer: ReturnType<typeof setTimeout> | undefined;
  const all = Promise.allSettled(children.map((c) => c.child.status));
  await Promise.race([all, new Promise((r) => timer = setTimeout(r, ms))]);
  clearTimeout(timer);
  for (const c of children) {
    try {
      c.child.kill("SIGKILL");
    } catch { /* already gone */ }
  }
  await all;
}

/**
 * Resolves once `want` lines equal to `ready` came out of `stream`; keeps
 * draining the rest in the background. Rejects when the stream ends first.
 */
export async function readyLines(
  c: SshChild,
  want: number,
): Promise<void> {
  const reader = c.child.stdout.getReader();
  const decoder = new TextDecoder();
  let partial = "";
  let seen = 0;
  while (seen < want) {
    const { done, value } = await reader.read();
    if (done) {
      throw new Error(
        `ssh pid ${c.child.pid} ended after ${seen} of ${want} ready lines: ${await c.stderr}`,
      );
    }
    const parts = (partial + decoder.decode(value, { stream: true })).split("\n");
    partial = parts.pop() ?? "";
    seen += parts.filter((l) => l === "ready").length;
  }
  void (async () => {
    try {
      while (!(await reader.read()).done) { /* drain */ }
    } catch { /* gone */ }
  })();
}

/** The command that runs one worker on a host, as the agent would start it. */
export function workerCommand(w: RemoteWorker): string {
  return remoteCommand(
    [w.runtime, "run", "--no-prompt", ...(w.flags ?? []), w.bundle],
    { DENO_NO_UPDATE_CHECK: "1", NO_COLOR: "1" },
  );
}

/**
 * Starts `perHost` workers on each host with one plain `ssh` per instance
 * (through a ControlMaster socket per host when `sockets` is given) and
 * returns the ms until every one printed `ready`; then ends them all.
 */
export async function plainPerInstance(
  t: SshTarget,
  w: RemoteWorker,
  perHost: number,
  sockets?: readonly string[],
): Promise<number> {
  const count = t.hosts.length * perHost;
  const children: SshChild[] = [];
  try {
    const t0 = performance.now();
    let id = 0;
    for (const [h, host] of t.hosts.entries()) {
      const mux = sockets === undefined
        ? []
        : ["-o", "ControlMaster=no", "-o", `ControlPath=${sockets[h]}`];
      for (let i = 0; i < perHost; i++) {
        id++;
        children.push(
          spawnSsh(plainArgs(t, host, mux), workerCommand(w), contextLine(w.bundle, id, count)),
        );
      }
    }
    await within(Promise.all(children.map((c) => readyLines(c, 1))), LIMIT_MS, "plain ssh start");
    return performance.now() - t0;
  } finally {
    await endAll(children);
  }
}

/** Runs `$#` workers (context lines as args) in the background, each fed from fd 3 afterwards. */
const PER_HOST = [
  'export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1; d="$1"; b="$2"; shift 2',
  // background jobs get /dev/null as stdin: keep ssh's stdin on fd 3 for them
  "exec 3<&0",
  'for c in "$@"; do { printf "%s\\n" "$c"; exec cat <&3; } | "$d" run --no-prompt "$b" & done',
  "wait",
].join("\n");

/**
 * Starts `perHost` workers on each host with one plain `ssh` per host (a
 * shell starting them in the background) and returns the ms until every one
 * printed `ready`; then ends them all.
 */
export async function plainPerHost(
  t: SshTarget,
  w: RemoteWorker,
  perHost: number,
): Promise<number> {
  const count = t.hosts.length * perHost;
  const children: SshChild[] = [];
  try {
    const t0 = performance.now();
    for (const [h, host] of t.hosts.entries()) {
      const contexts = Array.from(
        { length: perHost },
        (_, i) => contextLine(w.bundle, h * perHost + i + 1, count).trimEnd(),
      );
      const command = remoteScript(PER_HOST, [w.runtime, w.bundle, ...contexts]);
      children.push(spawnSsh(plainArgs(t, host), command));
    }
    await within(
      Promise.all(children.map((c) => readyLines(c, perHost))),
      LIMIT_MS,
      "plain ssh per host start",
    );
    return performance.now() - t0;
  } finally {
    await endAll(children);
  }
}

/** ControlMasters we started (`ssh -N`, our children), one per host. */
export interface Masters extends AsyncDisposable {
  /** Socket of each host, in the order of the hosts. */
  sockets: string[];
}

/** Starts one ControlMaster per host and resolves once every socket is there. */
export async function startMasters(t: SshTarget): Promise<Masters> {
  const dir = await Deno.makeTempDir({ prefix: "distarch-bench-cm-" });
  const children = t.hosts.map((host, i) =>
    new Deno.Command("ssh", {
      args: [
        ...plainArgs(t, host, [
          "-o",
          "ControlMaster=yes",
          "-o",
          `ControlPath=${dir}/${i}`,
          "-o",
          "ControlPersist=no",
          "-N",
        ]),
      ],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn()
  );
  const sockets = t.hosts.map((_, i) => `${dir}/${i}`);
  const dispose = async () => {
    for (const c of children) {
      try {
        c.kill("SIGTERM");
      } catch { /* gone */ }
    }
    await Promise.allSettled(children.map((c) => c.status));
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    const end = Date.now() + 30_000;
    for (const s of sockets) {
      while (!(await Deno.lstat(s).then(() => true, () => false))) {
        if (Date.now() > end) throw new Error(`ControlMaster socket ${s} did not appear in 30 s`);
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  } catch (error) {
    await dispose();
    throw error;
  }
  return { sockets, [Symbol.asyncDispose]: dispose };
}

/**
 * Uploads each file to every host with one plain `ssh host 'cat > file'`
 * per file and host, all in parallel; returns the ms. The files land in
 * `~/.bench-upload/` (the caller removes them).
 */
export async function plainUpload(t: SshTarget, files: readonly string[]): Promise<number> {
  const t0 = performance.now();
  await Promise.all(t.hosts.flatMap((host, h) =>
    files.map(async (file, f) => {
      const script = 'mkdir -p "$HOME/.bench-upload" && exec cat > "$HOME/.bench-upload/$1"';
      const child = new Deno.Command("ssh", {
        args: [...plainArgs(t, host), remoteScript(script, [`${h}-${f}`])],
        stdin: "piped",
        stdout: "null",
        stderr: "piped",
      }).spawn();
      const [st, err] = await Promise.all([
        (async () => {
          const src = await Deno.open(file);
          await src.readable.pipeTo(child.stdin);
          return await child.status;
        })(),
        new Response(child.stderr).text(),
      ]);
      if (!st.success) throw new Error(`plain upload of ${file} to ${host} failed: ${err}`);
    })
  ));
  return performance.now() - t0;
}

/**
 * Runs `perHost` line workers on each host with one plain `ssh` each and
 * counts their stdout lines in this process (`ssh host cmd | wc -l`);
 * returns the seconds from the go file's creation (all ready) until every
 * stream ended. `w.flags` must let the worker read `go`.
 */
export async function plainRelay(
  t: SshTarget,
  w: RemoteWorker,
  perHost: number,
  lines: number,
  go: string,
): Promise<number> {
  const count = t.hosts.length * perHost;
  const children: SshChild[] = [];
  try {
    let left = count;
    const ready = Promise.withResolvers<void>();
    const tick = () => {
      if (--left === 0) ready.resolve();
    };
    let id = 0;
    for (const host of t.hosts) {
      for (let i = 0; i < perHost; i++) {
        const context = contextLine(w.bundle, ++id, count, { lines, go });
        children.push(spawnSsh(plainArgs(t, host), workerCommand(w), context));
      }
    }
    const counted = Promise.all(children.map(async (c) => {
      const [n, st] = await Promise.all([countLines(c.child.stdout, tick), c.child.status]);
      if (!st.success) throw new Error(`plain relay ssh failed (${st.code}): ${await c.stderr}`);
      return n;
    }));
    counted.catch(() => ready.reject(new Error("a plain relay worker failed")));
    await within(ready.promise, LIMIT_MS, `starting ${count} plain remote line workers`);
    await Deno.writeTextFile(go, "");
    const t0 = performance.now();
    const got = await within(counted, LIMIT_MS, "plain remote relay");
    const seconds = (performance.now() - t0) / 1000;
    const sum = got.reduce((a, b) => a + b, 0);
    if (sum < count * lines) {
      throw new Error(`plain relay counted ${sum}, expected ${count * lines}+`);
    }
    return seconds;
  } finally {
    await endAll(children);
    await Deno.remove(go).catch(() => {});
  }
}
