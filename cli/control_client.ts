/**
 * The command side of the control socket: sends one request to a running
 * master and yields its answer lines.
 *
 * @module
 */

import { JsonLineWriter, readJsonLines } from "./_ndjson.ts";
import { CliError, EXIT } from "./_errors.ts";
import { escapeText } from "../master/log.ts";
import { checkSocketDir, checkSocketFile, socketDir } from "./_socket_guard.ts";
import type { ControlRequest, ControlResponse } from "./control_protocol.ts";

/**
 * Sends `request` to the master listening on `path` and yields each line of
 * its answer until it closes the connection. Throws a {@linkcode CliError}
 * (exit 4) when no master answers there, or when the socket or its directory
 * could belong to someone else (see _socket_guard.ts): then it does not connect.
 */
export async function* control(
  path: string,
  request: ControlRequest,
): AsyncGenerator<ControlResponse> {
  let conn: Deno.Conn;
  try {
    checkSocketDir(socketDir(path));
    checkSocketFile(path);
    conn = await Deno.connect({ transport: "unix", path });
  } catch (e) {
    if (e instanceof CliError) throw e;
    const why = e instanceof Deno.errors.NotFound
      ? "no such socket"
      : e instanceof Deno.errors.ConnectionRefused
      ? "nobody listens on it"
      : String(e);
    throw new CliError(
      `no master is running on control socket ${path} (${why}); start one with "distarch run" ` +
        `or point at it with --socket / DISTARCH_SOCKET`,
      EXIT.socket,
      { cause: e },
    );
  }
  try {
    await new JsonLineWriter(conn).send(request);
    for await (const line of readJsonLines(conn.readable)) yield line as ControlResponse;
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the master
    }
  }
}

/**
 * Sends `request` and returns the master's single answer; an `ok: false`
 * answer becomes a {@linkcode CliError} (exit 1).
 */
export async function controlOnce(
  path: string,
  request: ControlRequest,
): Promise<Exclude<ControlResponse, { ok: false }>> {
  for await (const line of control(path, request)) {
    if ("ok" in line && line.ok === false) {
      throw new CliError(escapeText(String(line.error)), EXIT.failed);
    }
    return line as Exclude<ControlResponse, { ok: false }>;
  }
  throw new CliError(
    `the master on ${path} closed the connection without answering ${request.cmd}`,
    EXIT.failed,
  );
}
