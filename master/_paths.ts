/**
 * Where a worker's command and directory are, as pure path arithmetic but
 * for one question to the file system, asked by the caller: whether a local
 * command without `/` names a file in its directory.
 *
 * How a relative `command` is found, for local instances: in `path` when set
 * (itself relative to `cwd`), else in `cwd` (the config file's directory for
 * the CLI). A command with a `/`, or a Deno script, is always taken from there;
 * a bare name is taken from there when such a file exists, else looked up on
 * the `PATH`. With `binPath`, the interpreter gets that absolute file, or the
 * bare name as written when there is no such file.
 * For remote instances: a Deno script found there is bundled and shipped; a
 * bare name is looked up on the host's `PATH`; any other command is run on the
 * host at the path it resolves to here.
 *
 * @module
 */

const DENO_SCRIPT = /\.(ts|js|mjs|mts|tsx|jsx)$/;

/** True when `command` is run with Deno. */
export function isDenoScript(command: string): boolean {
  return DENO_SCRIPT.test(command);
}

/**
 * A POSIX path without `.` segments, repeated or trailing slashes, and with
 * each `..` applied to the segment before it (lexically, as `path.normalize`).
 *
 * @example
 * ```ts
 * import { normalizePath } from "./_paths.ts";
 * normalizePath("/app/./bin//../w.sh"); // "/app/w.sh"
 * ```
 */
export function normalizePath(path: string): string {
  const abs = path.startsWith("/");
  const out: string[] = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part !== "..") out.push(part);
    else if (out.length > 0 && out[out.length - 1] !== "..") out.pop();
    else if (!abs) out.push("..");
  }
  const joined = out.join("/");
  return abs ? `/${joined}` : joined || ".";
}

/** The directory `path` names, relative to `cwd` unless absolute, normalised. */
export function resolveDir(path: string, cwd: string): string {
  return normalizePath(path.startsWith("/") ? path : `${cwd}/${path}`);
}

/** Where a relative `command` is found: in `path` (itself relative to `cwd`), else in `cwd`. */
export function resolveScript(command: string, path: string | undefined, cwd: string): string {
  if (command.startsWith("/")) return normalizePath(command);
  return normalizePath(`${path === undefined ? cwd : resolveDir(path, cwd)}/${command}`);
}

/** Whether `path` is a file, by `Deno.statSync`; false when it fails. */
export function statIsFile(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}

/** What a non-Deno `command` becomes in an `Exec` (see the module doc). */
export function binaryCommand(
  command: string,
  script: string,
  local: boolean,
  path: string | undefined,
  isFile: (path: string) => boolean,
): string {
  if (command.includes("/")) return script;
  if (local) return isFile(script) ? script : command;
  return path !== undefined ? script : command; // remote: as it always was
}
