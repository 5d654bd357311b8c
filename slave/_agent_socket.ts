/**
 * The agent's door for a new link: a Unix socket in a private directory of
 * the host cache, `<cache>/run/<run-id>/<agent-id>.sock` (directories 0700:
 * only the same user reaches it), and the connector at the other end of it:
 * `agent.js --connect=<run-id>/<agent-id>`, run at the far end of a new SSH
 * session, pipes its stdin and stdout to the socket (no `nc` on hosts).
 *
 * @module
 */

import { NO_AGENT_MARK } from "../protocol/agent.ts";

/** `<run-id>/<agent-id>`, as the master names an agent's socket. */
export const SOCKET_KEY = /^[0-9a-f]{8,32}\/[0-9a-f]{4,32}$/;

/** The socket path of `key` under the host cache. */
export function socketPath(cache: string, key: string): string {
  return `${cache}/run/${key}.sock`;
}

function privateDir(dir: string): void {
  try {
    Deno.mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
  }
  const st = Deno.lstatSync(dir);
  if (!st.isDirectory || (st.uid !== null && st.uid !== Deno.uid())) {
    throw new Error(`${dir} is not a directory of ours`);
  }
  Deno.chmodSync(dir, 0o700);
}

/** Listens on `key`'s socket (replacing a stale one); `close()` removes it. */
export function listenSocket(
  cache: string,
  key: string,
): { listener: Deno.Listener<Deno.UnixConn>; close: () => void } {
  const path = socketPath(cache, key);
  const runDir = path.slice(0, path.lastIndexOf("/"));
  privateDir(`${cache}/run`);
  privateDir(runDir);
  try {
    Deno.removeSync(path);
  } catch { /* none */ }
  const listener = Deno.listen({ transport: "unix", path });
  let closed = false;
  return {
    listener,
    close: () => {
      if (closed) return;
      closed = true;
      try {
        listener.close();
      } catch { /* closed */ }
      for (const p of [path, runDir]) {
        try {
          Deno.removeSync(p); // the run directory only when it is empty
        } catch { /* gone, or still used */ }
      }
    },
  };
}

/**
 * The connector: pipes stdin to the socket and the socket to stdout until
 * either ends; prints {@linkcode NO_AGENT_MARK} and returns 5 when no agent
 * listens there (and removes the socket a dead agent left).
 */
export async function connect(path: string): Promise<number> {
  let conn: Deno.UnixConn;
  try {
    conn = await Deno.connect({ transport: "unix", path });
  } catch (error) {
    if (error instanceof Deno.errors.ConnectionRefused) {
      // a socket its agent left when it died (SIGKILL, OOM): nobody will listen there again
      const runDir = path.slice(0, path.lastIndexOf("/"));
      for (const p of [path, runDir]) {
        try {
          Deno.removeSync(p); // the run directory only when it is empty
        } catch { /* gone, or still used */ }
      }
    }
    await Deno.stdout.write(new TextEncoder().encode(NO_AGENT_MARK + "\n"));
    return 5;
  }
  const up = Deno.stdin.readable.pipeTo(conn.writable).catch(() => {});
  const down = conn.readable.pipeTo(Deno.stdout.writable).catch(() => {});
  await Promise.race([up, down]);
  return 0;
}
