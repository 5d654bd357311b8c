/**
 * Zero install: what a remote host needs (the Deno runtime, the agent bundle,
 * bundled worker scripts) is shipped over SSH into a content-addressed cache,
 * `~/.cache/distarch/<sha256>/<name>`, once per content and host. One remote
 * probe tells what is there already; only the rest is uploaded, to a
 * temporary name, checked with `sha256sum` on the host, then moved in place.
 *
 * The agent is prebuilt (`slave/_agent_bundle.ts`, `deno task bundle-agent`)
 * and travels with this module graph, so it works however the package was
 * imported (a file, a registry, any URL). Worker bundles are kept in memory:
 * this module leaves no file behind.
 *
 * @module
 */

import { AGENT_SOURCE } from "../../slave/_agent_bundle.ts";
import { remoteScript } from "./_ssh_args.ts";
import { StartError } from "./types.ts";
import { ProbeError, type SshResult } from "./_ssh_run.ts";
import { denoBundle } from "./_bundle.ts";

/** A file to have on the remote host: a local file, or content in memory. */
export interface Artifact {
  /** File name in its cache directory (`deno`, `agent.js`…). */
  name: string;
  /** Hex SHA-256 of its content: its cache directory. */
  hash: string;
  /** Local path of its content, unless `data` holds it. */
  path?: string;
  /** Its content, when it is in memory (the agent, worker bundles). */
  data?: Uint8Array;
  /** Size in bytes. */
  size: number;
  /** Whether it must be executable. */
  executable: boolean;
}

/** Runs one remote command string over ssh, with `stdinFile` (a local path) as its stdin. */
export type SshRun = (command: string, stdinFile?: string) => Promise<SshResult>;

async function sha256(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** An artifact of bytes in memory. */
export async function memoryArtifact(data: Uint8Array, name: string): Promise<Artifact> {
  return { name, hash: await sha256(data), data, size: data.length, executable: false };
}

let runtime: Promise<Artifact & { path: string }> | undefined;

/** The master's own Deno executable; hashed once per process. */
export function runtimeArtifact(): Promise<Artifact & { path: string }> {
  runtime ??= (async () => {
    const path = Deno.execPath();
    const [data, stat] = await Promise.all([Deno.readFile(path), Deno.stat(path)]);
    return { name: "deno", hash: await sha256(data), path, size: stat.size, executable: true };
  })();
  runtime.catch(() => runtime = undefined);
  return runtime;
}

const bundles = new Map<string, Promise<Artifact>>();

/**
 * Bundles a local Deno script and everything it imports into one JavaScript
 * file with `deno bundle`, in memory; once per script per process. Remote
 * imports are allowed: the bundle only fetches code, the worker runs it with
 * its own permissions.
 */
export function bundleArtifact(script: string, name: string): Promise<Artifact> {
  let p = bundles.get(script);
  if (p === undefined) {
    p = (async () => memoryArtifact(await denoBundle(script, { allowImport: true }), name))();
    bundles.set(script, p);
    p.catch(() => bundles.delete(script));
  }
  return p;
}

let agent: Promise<Artifact> | undefined;

/** The agent: the prebuilt bundle of `slave/agent.ts`. */
export function agentArtifact(): Promise<Artifact> {
  agent ??= memoryArtifact(new TextEncoder().encode(AGENT_SOURCE), "agent.js");
  return agent;
}

/** An artifact's place in the host cache, relative to `~/.cache/distarch`: `<sha256>/<name>`. */
export function cacheEntry(a: Artifact): string {
  return `${a.hash}/${a.name}`;
}

/** Printed by {@linkcode agentCommand} when something it needs is not in the host cache. */
export const MISSING_MARK = "DISTARCH-MISSING/1";

const LAUNCH = [
  'c="$HOME/.cache/distarch"; r="$1"; a="$2"; l="$3"; g="$4"; e="$5"; shift 5',
  'case "$r" in',
  '  @cache/*) r="$c/${r#@cache/}"; [ -f "$r" ] || r= ;;',
  '  *) command -v "$r" >/dev/null 2>&1 || r= ;;',
  "esac",
  'ok=$r; [ -f "$c/$a" ] || ok=',
  'for x in "$@"; do [ -f "$c/$x" ] || ok=; done',
  `if [ -z "$ok" ]; then echo ${MISSING_MARK}; exit 3; fi`,
  "export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1",
  'exec "$r" run -A --no-prompt "$c/$a" "$l" "$g" "$e" "--cache=$c"',
].join("\n");

/** Runs the agent bundle as a connector to a running agent's socket (`--connect=`). */
const CONNECT = [
  'c="$HOME/.cache/distarch"; r="$1"; a="$2"; k="$3"',
  'case "$r" in',
  '  @cache/*) r="$c/${r#@cache/}"; [ -f "$r" ] || r= ;;',
  '  *) command -v "$r" >/dev/null 2>&1 || r= ;;',
  "esac",
  `if [ -z "$r" ] || [ ! -f "$c/$a" ]; then echo ${MISSING_MARK}; exit 3; fi`,
  "export DENO_NO_UPDATE_CHECK=1 NO_COLOR=1",
  'exec "$r" run -A --no-prompt "$c/$a" "--connect=$k" "--cache=$c"',
].join("\n");

/** Options of {@linkcode agentCommand}. */
export interface AgentCommandOptions {
  /** The agent bundle. */
  agent: Artifact;
  /** The Deno runtime: a cached artifact, or a program on the host's PATH (`binPath`). */
  runtime: Artifact | string;
  /** Other artifacts that must be there too (worker bundles). @default {[]} */
  also?: readonly Artifact[];
  /** The agent's lease, ms. */
  lease: number;
  /** The agent's grace period, ms. */
  grace: number;
  /**
   * The adopt window, ms, and the agent's socket (`<run-id>/<agent-id>`): the
   * agent outlives a lost link that long. @default {none: it stops at once}
   */
  adopt?: { ms: number; socket: string };
}

/**
 * The remote command that starts the agent with no probe first: a shell
 * checks that the runtime, the agent and `also` are in the host cache and
 * execs the agent, or prints {@linkcode MISSING_MARK} and exits 3 (then run
 * {@linkcode ensureArtifacts} and try again). The agent gets the cache
 * directory as `--cache=`, to resolve `@cache/<sha256>/<name>` in argv.
 */
export function agentCommand(options: AgentCommandOptions): string {
  const { agent, runtime, also = [], lease, grace, adopt } = options;
  return remoteScript(LAUNCH, [
    runtimeWord(runtime),
    cacheEntry(agent),
    `--lease=${lease}`,
    `--grace=${grace}`,
    adopt === undefined ? "--adopt=0" : `--adopt=${adopt.ms}:${adopt.socket}`,
    ...also.map(cacheEntry),
  ]);
}

function runtimeWord(runtime: Artifact | string): string {
  return typeof runtime === "string" ? runtime : `@cache/${cacheEntry(runtime)}`;
}

/**
 * The remote command that connects a new session to the running agent of
 * `socket` (`<run-id>/<agent-id>`): the agent bundle run as a connector,
 * which pipes the session to the agent's Unix socket, or prints
 * `NO_AGENT_MARK` (protocol/agent.ts) when no agent listens there.
 */
export function connectCommand(
  agent: Artifact,
  runtime: Artifact | string,
  socket: string,
): string {
  return remoteScript(CONNECT, [runtimeWord(runtime), cacheEntry(agent), socket]);
}

/** What {@linkcode ensureArtifacts} found and did. */
export interface EnsureResult {
  /** The remote user's home directory. */
  home: string;
  /** Remote absolute path of each artifact, by hash. */
  paths: Map<string, string>;
  /** The artifacts that had to be uploaded. */
  uploaded: Artifact[];
  /** Whether `binPath` (when asked for) was found on the host. */
  binFound: boolean;
}

const PROBE = [
  'printf "home %s\\n" "$HOME"',
  'if [ -n "$1" ]; then command -v "$1" >/dev/null 2>&1 && echo bin; fi',
  "shift",
  'for x in "$@"; do [ -f "$HOME/.cache/distarch/$x" ] && echo "have $x"; done',
  "command -v sha256sum >/dev/null 2>&1 || echo no-sha256sum",
  "true",
].join("\n");

/** Exit code of `UPLOAD` when the cache cannot be written: retrying cannot help. */
const NOT_WRITABLE = 4;

const UPLOAD = [
  "set -e",
  'd="$HOME/.cache/distarch/$1"',
  `mkdir -p "$d" || exit ${NOT_WRITABLE}`,
  't="$d/.$2.$$.tmp"',
  `trap 'rm -f "$t"' EXIT`,
  `: > "$t" || exit ${NOT_WRITABLE}`,
  'cat > "$t"',
  's=$(sha256sum "$t")',
  's="${s%% *}"',
  'if [ "$s" != "$1" ]; then echo "sha256 mismatch: got $s, want $1" >&2; exit 3; fi',
  'if [ "$3" = x ]; then chmod 755 "$t"; else chmod 644 "$t"; fi',
  // content-addressed: a file already there (another upload won) is the same; never replace
  // it under a running agent. ln makes the name atomically, or fails when it exists.
  'if ! ln "$t" "$d/$2" 2>/dev/null; then [ -f "$d/$2" ] || mv -f "$t" "$d/$2"; fi',
  'rm -f "$t"',
  "trap - EXIT",
].join("\n");

/**
 * Makes sure every artifact is in the remote cache: one probe, then one
 * upload per missing artifact (in parallel). `binPath`, when given, is
 * looked up on the host's PATH in the same probe.
 */
export async function ensureArtifacts(
  run: SshRun,
  artifacts: readonly Artifact[],
  binPath?: string,
): Promise<EnsureResult> {
  const entry = cacheEntry;
  const probe = await run(remoteScript(PROBE, [binPath ?? "", ...artifacts.map(entry)]));
  if (probe.code !== 0) throw new ProbeError(probe);
  const lines = probe.stdout.split("\n");
  const home = lines.find((l) => l.startsWith("home "))?.slice(5) ?? "";
  if (!home.startsWith("/")) {
    throw new Error(`The remote probe found no usable $HOME: ${JSON.stringify(home)}`);
  }
  const have = new Set(lines.filter((l) => l.startsWith("have ")).map((l) => l.slice(5)));
  const missing = artifacts.filter((a) => !have.has(entry(a)));
  if (missing.length > 0 && lines.includes("no-sha256sum")) {
    throw new Error("The remote host has no sha256sum (coreutils) to check uploads");
  }
  await Promise.all(missing.map(async (a) => {
    const r = await withLocalFile(
      a,
      (path) => run(remoteScript(UPLOAD, [a.hash, a.name, a.executable ? "x" : "-"]), path),
    );
    if (r.code === 0) return;
    if (r.code === 255) throw new ProbeError(r);
    const why = r.stderr.trim().split("\n").pop() ?? "";
    if (r.code === NOT_WRITABLE) {
      throw new StartError(
        `The host cache ${home}/.cache/distarch is not writable, so ${a.name} cannot be ` +
          `uploaded; make it writable, or remove it and let distarch create it: ${why}`,
        { fatal: true },
      );
    }
    throw new Error(`Cannot upload ${a.name} (${a.size} bytes): code ${r.code}: ${why}`);
  }));
  const paths = new Map(artifacts.map((a) => [a.hash, `${home}/.cache/distarch/${entry(a)}`]));
  return { home, paths, uploaded: missing, binFound: lines.includes("bin") };
}

/**
 * Runs `fn` with a local file holding the artifact's content: its own path,
 * or a temporary file (removed after) for one in memory.
 */
async function withLocalFile<T>(a: Artifact, fn: (path: string) => Promise<T>): Promise<T> {
  if (a.path !== undefined) return await fn(a.path);
  const path = await Deno.makeTempFile({ prefix: "distarch-upload-" });
  try {
    await Deno.writeFile(path, a.data ?? new Uint8Array());
    return await fn(path);
  } finally {
    await Deno.remove(path).catch(() => {});
  }
}
