/**
 * The master's state directory, for handover: the run state (its id, secret,
 * agents and the instances they run) in `state.json`, so that a new master
 * can adopt the instances a previous one left running (it was killed, or
 * stopped with `--leave-running`). This module owns the file only: the
 * directory's checks, an atomic write, a checked read, and whether the master
 * that wrote it still lives (Linux `/proc`).
 *
 * @module
 */

import { writeAllSync } from "../_shared/write_all.ts";
import { errorMessage } from "../_shared/errors.ts";
import { type RunState, stateProblem } from "./_state_check.ts";
import { processStartTicks } from "../_shared/proc.ts";

export type { AgentRecord, ConnectRecord, InstanceRecord, RunState } from "./_state_check.ts";
export { processStartTicks };

/** A state directory or file that cannot be used as it is; `path` names it. */
export class StateError extends Error {
  /** The directory or file at fault. */
  readonly path: string;
  /** A message saying what is wrong with `path` and what to do. */
  constructor(message: string, path: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "StateError";
    this.path = path;
  }
}

/** The state file's name in its directory. */
export const STATE_FILE = "state.json";

const MAX_SIZE = 16 * 1024 * 1024;
const AFRESH =
  "remove it to start afresh (its instances are stopped by their agents when their adopt window ends)";

function hex(bytes: number): string {
  const b = crypto.getRandomValues(new Uint8Array(bytes));
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** `{ runId: 16 hex, secret: 64 hex }` from crypto.getRandomValues. */
export function newRunIdentity(): { runId: string; secret: string } {
  return { runId: hex(8), secret: hex(32) };
}

/** All of `f`, which has `size` bytes; an error when it has more. */
function readExactly(f: Deno.FsFile, size: number): Uint8Array {
  const out = new Uint8Array(size + 1);
  let n = 0;
  for (let r = f.readSync(out); r !== null; r = f.readSync(out.subarray(n))) {
    n += r;
    if (n > size) throw new Error("it grew while read");
  }
  return out.subarray(0, n);
}

function octal(mode: number): string {
  return (mode & 0o7777).toString(8).padStart(4, "0");
}

function isNotFound(error: unknown): boolean {
  return error instanceof Deno.errors.NotFound;
}

/** A checked, private directory holding the master's `state.json`. */
export class StateDir {
  /** The directory. */
  readonly path: string;
  /** `path` + "/state.json". */
  readonly file: string;
  #created: boolean;

  private constructor(path: string, created: boolean) {
    this.path = path;
    this.file = `${path}/${STATE_FILE}`;
    this.#created = created;
  }

  /**
   * Opens (creating with 0700 and parents when missing) and checks the
   * directory: a real directory (not a symlink), owned by the current user,
   * with no group or other permission bits. Throws StateError otherwise,
   * saying what is wrong and how to fix it.
   */
  static open(path: string): StateDir {
    const dir = path.length > 1 ? path.replace(/\/+$/, "") : path;
    let created = false;
    try {
      Deno.lstatSync(dir);
    } catch (error) {
      if (!isNotFound(error)) {
        throw new StateError(
          `cannot read the state directory ${dir}: ${errorMessage(error)}`,
          dir,
          {
            cause: error,
          },
        );
      }
      try {
        Deno.mkdirSync(dir, { recursive: true, mode: 0o700 });
        Deno.chmodSync(dir, 0o700);
        created = true;
      } catch (error) {
        throw new StateError(
          `cannot create the state directory ${dir}: ${errorMessage(error)}; use another stateDir`,
          dir,
          { cause: error },
        );
      }
    }
    const st = Deno.lstatSync(dir);
    const bad = (what: string, fix: string) =>
      new StateError(`the state directory ${dir} ${what}: ${fix}`, dir);
    if (st.isSymlink) throw bad("is a symlink", "use another stateDir (a real directory)");
    if (!st.isDirectory) throw bad("is not a directory", "use another stateDir");
    const uid = Deno.uid();
    if (uid !== null && st.uid !== uid) {
      throw bad(`is owned by uid ${st.uid}, not by this user (uid ${uid})`, "use another stateDir");
    }
    if (st.mode !== null && (st.mode & 0o077) !== 0) {
      throw bad(
        `has mode ${octal(st.mode)}, open to other users`,
        `chmod 700 ${dir}, or use another stateDir`,
      );
    }
    return new StateDir(dir, created);
  }

  /**
   * The state a previous master wrote, or undefined when there is no state
   * file. Throws StateError (`refusing the state file <file>: …`) when the
   * file is not a private regular file of this user (mode 0600), is larger
   * than 16 MiB, is not JSON, or is not a version 1 run state.
   */
  read(): RunState | undefined {
    const refuse = (why: string, hint = AFRESH, cause?: unknown) =>
      new StateError(
        `refusing the state file ${this.file}: ${why}; ${hint}`,
        this.file,
        cause === undefined ? undefined : { cause },
      );
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(this.file);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw refuse(`cannot stat it (${errorMessage(error)})`, AFRESH, error);
    }
    if (st.isSymlink) throw refuse("it is a symlink");
    if (!st.isFile) throw refuse("it is not a regular file");
    const uid = Deno.uid();
    if (uid !== null && st.uid !== uid) {
      throw refuse(`it is owned by uid ${st.uid}, not by this user (uid ${uid})`);
    }
    if (st.mode !== null && (st.mode & 0o7777) !== 0o600) {
      throw refuse(
        `its mode is ${octal(st.mode)}, not 0600`,
        `chmod 600 ${this.file} if you trust it, or ${AFRESH}`,
      );
    }
    if (st.size > MAX_SIZE) throw refuse(`it is ${st.size} bytes, more than 16 MiB`);
    let text: string;
    try {
      using f = Deno.openSync(this.file, { read: true });
      const now = f.statSync();
      if (now.ino !== st.ino || now.dev !== st.dev) throw new Error("it was replaced while read");
      text = new TextDecoder().decode(readExactly(f, st.size));
    } catch (error) {
      throw refuse(`cannot read it (${errorMessage(error)})`, AFRESH, error);
    }
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      throw refuse(`it is not valid JSON (${errorMessage(error)})`, AFRESH, error);
    }
    const problem = stateProblem(value);
    if (problem !== undefined) throw refuse(problem);
    return value as RunState;
  }

  /**
   * Writes `state` atomically: to `.state.json.<random hex>.tmp` in the same
   * directory (created new, mode 0600), synced, then renamed over
   * `state.json`; the temporary file is removed when anything fails.
   * Synchronous: it is called from exit paths.
   */
  write(state: RunState): void {
    let bytes: Uint8Array;
    try {
      const problem = stateProblem(state);
      if (problem !== undefined) throw new Error(problem);
      bytes = new TextEncoder().encode(JSON.stringify(state));
    } catch (error) {
      throw new StateError(
        `not writing the state file ${this.file}: the state is invalid (${
          errorMessage(error)
        }); this is a bug in distarch, please report it`,
        this.file,
        { cause: error },
      );
    }
    const tmp = `${this.path}/.${STATE_FILE}.${hex(8)}.tmp`;
    let made = false;
    try {
      using f = Deno.openSync(tmp, { write: true, createNew: true, mode: 0o600 });
      made = true;
      Deno.chmodSync(tmp, 0o600); // whatever the umask
      writeAllSync(f, bytes);
      f.syncSync();
      Deno.renameSync(tmp, this.file);
      made = false;
    } catch (error) {
      if (made) {
        try {
          Deno.removeSync(tmp);
        } catch { /* best effort: the error below matters more */ }
      }
      throw new StateError(
        `cannot write the state file ${this.file}: ${errorMessage(error)}; ` +
          `check that ${this.path} is writable and its file system not full`,
        this.file,
        { cause: error },
      );
    }
    try {
      using d = Deno.openSync(this.path, { read: true });
      d.syncSync(); // makes the rename durable
    } catch { /* the file is in place; only its durability on a crash is weaker */ }
  }

  /**
   * Removes `state.json` (and nothing else); no error when absent. Removes
   * the directory too when it is then empty and {@linkcode StateDir.open}
   * created it.
   */
  remove(): void {
    try {
      Deno.removeSync(this.file);
    } catch (error) {
      if (!isNotFound(error)) {
        throw new StateError(
          `cannot remove the state file ${this.file}: ${errorMessage(error)}`,
          this.file,
          { cause: error },
        );
      }
    }
    if (!this.#created) return;
    try {
      if (Deno.readDirSync(this.path).next().done) Deno.removeSync(this.path);
    } catch { /* gone already, or not empty: left as it is */ }
  }

  /**
   * The pid of the master that wrote `state` when that process still runs
   * (same pid, and same start time when `startTicks` is not null) and is not
   * this process; else undefined.
   */
  liveMaster(state: RunState): number | undefined {
    const { pid, startTicks } = state.master;
    if (pid === Deno.pid) return undefined;
    const ticks = processStartTicks(pid);
    if (ticks === null) return undefined;
    if (startTicks !== null && ticks !== startTicks) return undefined;
    return pid;
  }
}
