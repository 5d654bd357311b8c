/**
 * Checks that a control socket can be trusted before a master binds it or a
 * command talks to it: its directory must be the user's own and writable by
 * nobody else, and the socket must belong to the user. Otherwise another
 * local user could put a socket of their own in its place, answer the
 * commands (`stop` saying "master stopped" while the master keeps running)
 * and print what they like on the user's terminal.
 *
 * @module
 */

import { CliError, EXIT } from "./_errors.ts";
import { JsonLineWriter, readJsonLines } from "./_ndjson.ts";

/** The directory part of a socket path. */
export function socketDir(path: string): string {
  const slash = path.lastIndexOf("/");
  return slash < 0 ? "." : slash === 0 ? "/" : path.slice(0, slash);
}

function octal(mode: number): string {
  return "0" + (mode & 0o7777).toString(8).padStart(3, "0");
}

const ELSEWHERE = "or give --socket (or DISTARCH_SOCKET) a path in a directory only you can write";

/**
 * Throws a {@linkcode CliError} (exit 4) unless `dir` is a real directory
 * (not a symbolic link) owned by `uid` and not writable by its group or by
 * others. A missing `dir` throws `Deno.errors.NotFound`. Does nothing when
 * `uid` is `null` (no user ids on this system).
 *
 * @example
 * ```ts ignore
 * import { checkSocketDir } from "./_socket_guard.ts";
 * checkSocketDir("/tmp"); // throws: writable by others (mode 01777)
 * ```
 */
export function checkSocketDir(dir: string, uid: number | null = Deno.uid()): void {
  if (uid === null) return;
  const info = Deno.lstatSync(dir);
  const what = `control socket directory ${dir}`;
  if (info.isSymlink) {
    let target = "";
    try {
      target = ` to ${Deno.readLinkSync(dir)}`;
    } catch { /* unreadable link */ }
    throw new CliError(
      `${what} is a symbolic link${target}; whoever controls the link controls the socket. ` +
        `Remove the link ("rm ${dir}"), ${ELSEWHERE}`,
      EXIT.socket,
    );
  }
  if (!info.isDirectory) {
    throw new CliError(`${what} is not a directory: remove it, ${ELSEWHERE}`, EXIT.socket);
  }
  if (info.uid !== uid) {
    throw new CliError(
      `${what} belongs to uid ${info.uid}, not to you (uid ${uid}): its owner could put a ` +
        `socket of their own in it. Remove it (as uid ${info.uid} or root), ${ELSEWHERE}`,
      EXIT.socket,
    );
  }
  const mode = info.mode ?? 0;
  if ((mode & 0o022) !== 0) {
    const who = (mode & 0o020) && (mode & 0o002)
      ? "its group and by others"
      : mode & 0o020
      ? "its group"
      : "others";
    const fix = mode & 0o1000
      ? `It is a shared directory (sticky bit): do not change it; ${ELSEWHERE.slice(3)}`
      : `Run "chmod 700 ${dir}", ${ELSEWHERE}`;
    throw new CliError(
      `${what} is writable by ${who} (mode ${octal(mode)}): they could replace the socket. ${fix}`,
      EXIT.socket,
    );
  }
}

/**
 * Throws a {@linkcode CliError} (exit 4) when `path` exists but is not a
 * socket, or is a socket owned by another user than `uid`. A missing `path`
 * throws `Deno.errors.NotFound`.
 */
export function checkSocketFile(path: string, uid: number | null = Deno.uid()): void {
  const info = Deno.lstatSync(path);
  if (!info.isSocket) {
    throw new CliError(
      `cannot use ${path} as control socket: it exists and is not a socket. ` +
        `Remove it, or give --socket another path`,
      EXIT.socket,
    );
  }
  if (uid !== null && info.uid !== uid) {
    throw new CliError(
      `control socket ${path} belongs to uid ${info.uid}, not to you (uid ${uid}): ` +
        `not trusting whoever answers on it. Remove it (as uid ${info.uid} or root), ${ELSEWHERE}`,
      EXIT.socket,
    );
  }
}

/** Throws when a master answers on `path`, or `path` is not a socket; returns when it is stale. */
export async function refuseIfLive(path: string): Promise<void> {
  checkSocketFile(path);
  let conn: Deno.Conn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch {
    return; // nobody listens: a stale file from a master that died
  }
  let pid = "";
  try {
    await new JsonLineWriter(conn).send({ cmd: "ping" });
    const timer = setTimeout(() => conn.close(), 1000);
    for await (const v of readJsonLines(conn.readable)) {
      const p = (v as { pid?: unknown }).pid;
      if (typeof p === "number") pid = ` (pid ${p})`;
      break;
    }
    clearTimeout(timer);
  } catch {
    // it answered the connect: live enough
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
  throw new CliError(
    `another master is already running on control socket ${path}${pid}; ` +
      `stop it with "distarch stop", or use --socket to run a second one`,
    EXIT.socket,
  );
}
