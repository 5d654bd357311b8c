/**
 * Pure helpers of the SSH transport: POSIX shell quoting, the remote command
 * string and the argv of the system OpenSSH client. No I/O here.
 *
 * @module
 */

import type { RemoteProcessConfig } from "../types.ts";

/**
 * Quotes one word for a POSIX shell with single quotes: the shell reads it
 * back byte for byte, whatever it holds (`$`, backticks, quotes, newlines…).
 *
 * @example
 * ```ts
 * import { shellQuote } from "./_ssh_args.ts";
 * shellQuote("it's"); // "'it'\\''s'"
 * ```
 */
export function shellQuote(word: string): string {
  if (word.includes("\0")) {
    throw new TypeError(
      `Cannot quote a word for the shell: it holds a NUL byte: ${JSON.stringify(word)}`,
    );
  }
  return "'" + word.replaceAll("'", "'\\''") + "'";
}

/**
 * The command string ssh hands to the remote login shell: every word of
 * `argv` quoted, joined by spaces. `env` assignments go first (names are
 * checked, values quoted). Only fixed words belong here, never user params.
 *
 * @example
 * ```ts
 * import { remoteCommand } from "./_ssh_args.ts";
 * remoteCommand(["echo", "a b"]); // "exec 'echo' 'a b'"
 * ```
 */
export function remoteCommand(argv: readonly string[], env: Record<string, string> = {}): string {
  if (argv.length === 0) throw new TypeError("Cannot build a remote command: argv is empty");
  const assigns = Object.entries(env).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new TypeError(
        `Cannot build a remote command: invalid variable name ${JSON.stringify(name)}`,
      );
    }
    return `${name}=${shellQuote(value)}`;
  });
  return [...assigns, "exec", ...argv.map(shellQuote)].join(" ");
}

/**
 * A remote `sh -c` script with positional arguments, as one command string:
 * `exec sh -c '<script>' sh '<arg1>' …`. The script reads its args as `$1`…
 */
export function remoteScript(script: string, args: readonly string[] = []): string {
  return remoteCommand(["sh", "-c", script, "sh", ...args]);
}

/** Options of {@linkcode sshArgs}. */
export interface SshArgsOptions {
  /** Seconds to wait for the TCP connection and the SSH handshake. @default {10} */
  connectTimeout?: number;
  /** Seconds between keepalives of the SSH client. @default {5} */
  serverAliveInterval?: number;
  /** Unanswered keepalives before the client gives up. @default {3} */
  serverAliveCountMax?: number;
  /**
   * Multiplexing: the ControlMaster socket (in a private 0700 directory) and
   * whether these args start the master (in the foreground, owned by the
   * caller: no ControlPersist, no daemon) or use it. None = no multiplexing.
   */
  control?: { path: string; role: "master" | "client" };
}

/** `-o` options the transport sets itself; `sshOptions` may not override them. */
const OWN_OPTIONS = new Set([
  "batchmode",
  "controlmaster",
  "controlpath",
  "controlpersist",
]);

/**
 * True when `-o name=value` weakens host authentication: any
 * `StrictHostKeyChecking` but `yes` or `ask` (with batch mode, `ask` refuses an
 * unknown key like `yes`), or a `UserKnownHostsFile` that leaves no real file
 * (only `/dev/null`, or `none`), so every host key counts as new.
 *
 * @example
 * ```ts
 * import { weakensHostKeyChecking } from "./_ssh_args.ts";
 * weakensHostKeyChecking("StrictHostKeyChecking", "false"); // true
 * weakensHostKeyChecking("StrictHostKeyChecking", "ask"); // false
 * ```
 */
export function weakensHostKeyChecking(name: string, value: string): boolean {
  const n = name.toLowerCase();
  const v = value.trim().toLowerCase();
  if (n === "stricthostkeychecking") return v !== "yes" && v !== "ask";
  if (n === "userknownhostsfile") {
    const files = v.split(/\s+/).filter((f) => f !== "");
    return files.length > 0 && files.every((f) => f === "/dev/null" || f === "none");
  }
  return false;
}

/**
 * The ssh arguments (without the program name and the remote command) that
 * reach `host` as configured: `-T`, batch mode, timeouts, keepalives,
 * multiplexing, port, user, identity, extra `-o` options, then `--` and the
 * host. Host key checking is never relaxed unless `config.sshOptions` does it.
 */
export function sshArgs(
  host: string,
  config: Pick<RemoteProcessConfig, "username" | "privateKey" | "port" | "sshOptions">,
  options: SshArgsOptions = {},
): string[] {
  const {
    connectTimeout = 10,
    serverAliveInterval = 5,
    serverAliveCountMax = 3,
    control,
  } = options;
  if (host === "" || host.startsWith("-")) {
    throw new TypeError(
      `Invalid SSH host ${JSON.stringify(host)}: must not be empty or start with "-"`,
    );
  }
  const args = [
    "-T",
    "-o",
    "BatchMode=yes",
    "-o",
    `ConnectTimeout=${connectTimeout}`,
    "-o",
    `ServerAliveInterval=${serverAliveInterval}`,
    "-o",
    `ServerAliveCountMax=${serverAliveCountMax}`,
  ];
  if (control !== undefined) {
    const master = control.role === "master";
    args.push("-o", `ControlMaster=${master ? "yes" : "no"}`, "-o", `ControlPath=${control.path}`);
    if (master) args.push("-o", "ControlPersist=no");
  }
  if (config.port !== undefined) args.push("-p", String(config.port));
  if (config.username !== undefined) args.push("-l", config.username);
  if (config.privateKey !== undefined) {
    args.push("-i", config.privateKey, "-o", "IdentitiesOnly=yes");
  }
  for (const [name, value] of Object.entries(config.sshOptions ?? {})) {
    if (!/^[A-Za-z][A-Za-z0-9]*$/.test(name)) {
      throw new TypeError(`Invalid SSH option name ${JSON.stringify(name)}`);
    }
    if (/[\r\n]/.test(value)) {
      throw new TypeError(`Invalid value of SSH option ${name}: it holds a line break`);
    }
    if (OWN_OPTIONS.has(name.toLowerCase())) continue;
    args.push("-o", `${name}=${value}`);
  }
  args.push("--", host);
  return args;
}

/** True when an ssh error text means the server refused our credentials. */
export function isAuthFailure(stderr: string): boolean {
  return /Permission denied|Host key verification failed|Too many authentication failures/i
    .test(stderr);
}

/** The last non-empty line of `text`, for error messages. */
export function lastLine(text: string): string {
  const lines = text.split("\n").map((l) => l.trim()).filter((l) => l !== "");
  return lines[lines.length - 1] ?? "";
}
