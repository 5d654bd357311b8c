/**
 * The master's side of the control socket: binds a Unix socket (mode 0600,
 * refusing when another master answers on it, replacing a stale file), reads
 * one JSON request per connection and lets a handler answer with JSON lines.
 *
 * @module
 */

import { JsonLineWriter, LineTooLongError, readLines } from "./_ndjson.ts";
import { CliError, EXIT } from "./_errors.ts";
import { checkSocketDir, refuseIfLive, socketDir } from "./_socket_guard.ts";
import { errorMessage } from "../_shared/errors.ts";

/** The handle a request handler answers through. */
export interface Reply {
  /** Sends one JSON line. */
  send(value: unknown): Promise<void>;
  /** Lines queued, not yet written (a slow follower). */
  readonly pending: number;
  /** Bytes queued, not yet written. */
  readonly pendingBytes: number;
  /** Waits for the queue to empty: `false` once the client read nothing for `stallMs`. */
  drainUnlessStalled(stallMs: number): Promise<boolean>;
  /** Aborted when the client hangs up or the server closes. */
  readonly signal: AbortSignal;
}

/** Answers one request; the connection is closed when it resolves. */
export type RequestHandler = (request: unknown, reply: Reply) => Promise<void>;

/** Options of {@linkcode ControlServer.listen}. */
export interface ControlServerOptions {
  /** Milliseconds `close()` waits for requests in progress. @default {5000} */
  closeTimeout?: number;
  /** Longest request line, in bytes; longer is answered with an error. @default {1 MiB} */
  maxRequest?: number;
  /** Milliseconds a client has to send its request line. @default {10000} */
  requestTimeout?: number;
  /** Milliseconds an answer waits for a client that reads none of it. @default {60000} */
  stallTimeout?: number;
}

type Limits = Required<Omit<ControlServerOptions, "closeTimeout">>;

/** Resolves to what `p` resolves to, or to `undefined` after `ms`. */
async function within<T>(p: Promise<T>, ms: number): Promise<T | undefined> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), ms)),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

function mebibytes(n: number): string {
  return n % (1 << 20) === 0 ? `${n / (1 << 20)} MiB` : `${n} bytes`;
}

/** A listening control socket. */
export class ControlServer implements AsyncDisposable {
  readonly #listener: Deno.Listener;
  readonly #path: string;
  readonly #ino: number | null;
  readonly #handler: RequestHandler;
  readonly #closeTimeout: number;
  readonly #limits: Limits;
  readonly #closing = new AbortController();
  readonly #inFlight = new Set<Promise<void>>();
  #accepting: Promise<void> | undefined;
  #closed: Promise<void> | undefined;

  private constructor(
    listener: Deno.Listener,
    path: string,
    handler: RequestHandler,
    closeTimeout: number,
    limits: Limits,
  ) {
    this.#listener = listener;
    this.#path = path;
    this.#handler = handler;
    this.#closeTimeout = closeTimeout;
    this.#limits = limits;
    this.#ino = Deno.statSync(path).ino;
  }

  /** The socket path. */
  get path(): string {
    return this.#path;
  }

  /**
   * Binds `path` and starts serving. Throws a {@linkcode CliError} (exit 4)
   * when a master already answers there, when `path` is not a socket of this
   * user, or when its directory is not this user's alone (see _socket_guard.ts).
   */
  static async listen(
    path: string,
    handler: RequestHandler,
    options: ControlServerOptions = {},
  ): Promise<ControlServer> {
    const {
      closeTimeout = 5000,
      maxRequest = 1 << 20,
      requestTimeout = 10_000,
      stallTimeout = 60_000,
    } = options;
    const dir = socketDir(path);
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    checkSocketDir(dir);
    let listener: Deno.Listener;
    try {
      listener = Deno.listen({ transport: "unix", path });
    } catch (e) {
      if (!(e instanceof Deno.errors.AddrInUse)) {
        throw new CliError(`cannot listen on control socket ${path}: ${e}`, EXIT.socket, {
          cause: e,
        });
      }
      await refuseIfLive(path);
      await Deno.remove(path);
      listener = Deno.listen({ transport: "unix", path });
    }
    Deno.chmodSync(path, 0o600); // same tick as the bind: no request is served before
    const server = new ControlServer(listener, path, handler, closeTimeout, {
      maxRequest,
      requestTimeout,
      stallTimeout,
    });
    server.#accepting = server.#accept();
    return server;
  }

  async #accept(): Promise<void> {
    try {
      for await (const conn of this.#listener) {
        const p = this.#serve(conn).finally(() => this.#inFlight.delete(p));
        this.#inFlight.add(p);
      }
    } catch {
      // listener closed
    }
  }

  async #serve(conn: Deno.Conn): Promise<void> {
    const hangup = new AbortController();
    const signal = AbortSignal.any([hangup.signal, this.#closing.signal]);
    const writer = new JsonLineWriter(conn);
    const reply: Reply = {
      send: (v) => writer.send(v),
      get pending() {
        return writer.pending;
      },
      get pendingBytes() {
        return writer.pendingBytes;
      },
      drainUnlessStalled: (ms) => writer.drainUnlessStalled(ms),
      signal,
    };
    const lines = readLines(conn.readable, { maxLine: this.#limits.maxRequest });
    try {
      const request = await this.#readRequest(lines);
      if (request === undefined) return;
      if ("error" in request) return void await reply.send({ ok: false, error: request.error });
      // watch for the client hanging up while the handler runs (what it sends is dropped)
      void (async () => {
        try {
          while (!(await lines.next()).done);
        } catch {
          // reset by peer, or too long a line
        }
        hangup.abort();
      })();
      await this.#handler(request.value, reply).catch((e) =>
        reply.send({ ok: false, error: errorMessage(e) })
      );
    } finally {
      // a client that stopped reading its answer does not keep the connection forever
      await writer.drainUnlessStalled(this.#limits.stallTimeout);
      hangup.abort();
      try {
        conn.close();
      } catch {
        // already closed
      }
    }
  }

  /** The request line, parsed; an error to answer; `undefined` when the client left. */
  async #readRequest(
    lines: AsyncGenerator<Uint8Array>,
  ): Promise<{ value: unknown } | { error: string } | undefined> {
    const { maxRequest, requestTimeout } = this.#limits;
    const next = lines.next();
    next.catch(() => {}); // after a timeout nobody waits for it
    const first = await within(next.then((r) => r, (e) => ({ error: e })), requestTimeout);
    if (first === undefined) {
      return { error: `no request within ${requestTimeout / 1000} s; closing the connection` };
    }
    if ("error" in first) {
      if (first.error instanceof LineTooLongError) {
        return { error: `bad request: request longer than ${mebibytes(maxRequest)}` };
      }
      return undefined; // reset by peer
    }
    if (first.done) return undefined;
    const text = new TextDecoder().decode(first.value);
    try {
      return { value: JSON.parse(text) };
    } catch (e) {
      const head = text.length > 80 ? `${text.slice(0, 80)}…` : text;
      return { error: `bad request: not JSON (${errorMessage(e)}): ${head}` };
    }
  }

  /**
   * Stops accepting, aborts followers, waits (bounded) for requests in
   * progress to answer, then removes the socket file if it is still ours.
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        this.#listener.close();
      } catch {
        // already closed
      }
      await this.#accepting;
      this.#closing.abort();
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.all(this.#inFlight),
        new Promise((r) => timer = setTimeout(r, this.#closeTimeout)),
      ]);
      clearTimeout(timer);
      try {
        if (Deno.statSync(this.#path).ino === this.#ino) Deno.removeSync(this.#path);
      } catch {
        // gone already
      }
    })();
    return this.#closed;
  }

  /** Same as {@linkcode ControlServer.close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
