/**
 * The dashboard server: a page, a JSON API, a live event stream and
 * Prometheus metrics for a running launcher, on loopback by default, with
 * authentication always on.
 *
 * @module
 */

import type { Logger } from "../types.ts";
import { ResourceSampler } from "../resources.ts";
import { type DashboardTarget, groupSummaries, runAction } from "./_api.ts";
import { Auth, checkToken, newToken, sameOrigin } from "./_auth.ts";
import { METRICS_TYPE, metricsText } from "./_metrics.ts";
import { APP_CSS, INDEX_HTML } from "./_page.ts";
import { APP_JS } from "./_page_script.ts";
import { eventStream } from "./_stream.ts";
import { LogFeed } from "./log_feed.ts";
import { parseListen } from "./listen.ts";

export type { DashboardTarget, GroupSummary } from "./_api.ts";

/** Options of {@linkcode serveDashboard}. */
export interface DashboardOptions {
  /** `[HOST:]PORT` to listen on; port 0 picks a free one. @default {"127.0.0.1:7700"} */
  listen?: string;
  /** The bearer token (at least 16 characters of `A-Za-z0-9._~-`). @default {a random one} */
  token?: string;
  /** Log records to stream and count; give the launcher `feed.wrap(logger)`. @default {a feed nothing writes to} */
  feed?: LogFeed;
  /** Where the login line is logged. @default {nowhere} */
  logger?: Logger;
  /** Seconds between two CPU and memory samples (of the sampler made when none is given). @default {2} */
  sampleInterval?: number;
  /**
   * A sampler to read CPU and memory from, e.g. one `ps` shares; it is not
   * started nor stopped here. Remote instances are measured only when the
   * launcher's `instanceResources` events reach it (`sampler.report`), as the
   * CLI's `MeasuredLauncher` does. @default {one of `target.list()` (local instances), started here}
   */
  sampler?: ResourceSampler;
  /** Event streams open at once at most; more get 503. @default {32} */
  maxStreams?: number;
}

/** A running dashboard. */
export interface Dashboard extends AsyncDisposable {
  /** The base URL, e.g. `http://127.0.0.1:7700/`. */
  readonly url: string;
  /** The URL that logs a browser in: `url` with `?token=…`. */
  readonly loginUrl: string;
  /** The bearer token. */
  readonly token: string;
  /** The CPU and memory sampler (its samples are also in `GET /api/instances`). */
  readonly sampler: ResourceSampler;
  /** Stops serving (open streams end). */
  close(): Promise<void>;
}

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": "default-src 'none'; script-src 'self'; style-src 'self'; " +
    "connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; " +
    "frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "cache-control": "no-store",
};

function respond(status: number, body: BodyInit | null, headers: Record<string, string> = {}) {
  return new Response(body, { status, headers: { ...SECURITY_HEADERS, ...headers } });
}
function json(status: number, value: unknown, headers: Record<string, string> = {}) {
  return respond(status, JSON.stringify(value), {
    "content-type": "application/json; charset=utf-8",
    ...headers,
  });
}
const UNAUTHORIZED = "401 Unauthorized: open the login URL the master logged at start " +
  "(or run `distarch dashboard`), or send `Authorization: Bearer <token>`.\n";

/**
 * Serves the dashboard of `target` (a `Launcher`), listening when it
 * returns (it throws when the address is taken); dispose of it (or call
 * `close()`) to stop.
 *
 * @example
 * ```ts ignore
 * import { defaultLogger, Launcher, LogFeed, serveDashboard } from "@distarch/distarch/master";
 * const feed = new LogFeed();
 * const logger = feed.wrap(defaultLogger());
 * const launcher = new Launcher({ logger });
 * await using dashboard = serveDashboard(launcher, { feed, logger, listen: "127.0.0.1:0" });
 * await launcher.run([{ name: "g", command: "worker.ts", processes: [{ type: "local", instances: 2 }] }]);
 * ```
 */
export function serveDashboard(
  target: DashboardTarget,
  options: DashboardOptions = {},
): Dashboard {
  const {
    listen = "127.0.0.1:7700",
    token = newToken(),
    feed = new LogFeed(),
    logger,
    sampleInterval = 2,
    maxStreams = 32,
  } = options;
  const own = options.sampler === undefined;
  checkToken(token);
  const addr = parseListen(listen);
  const sampler = options.sampler ??
    new ResourceSampler(() => target.list(), { interval: sampleInterval }).start();
  let streams = 0;
  let version = 0, last = "";
  const instances = () => sampler.decorate(target.list());
  const can = `"canRestartInstance":${typeof target.restartInstance === "function"}`;
  const snapshot = () => {
    const json = JSON.stringify(instances());
    if (json !== last) (last = json, version++);
    return { version, json: `{"now":${Date.now()},${can},"instances":${json}}` };
  };
  // wake the streams when the instances change (checked every second while some stream)
  const watch = setInterval(() => {
    if (streams === 0) return;
    const before = version;
    snapshot();
    if (version !== before) feed.wake();
  }, 1000);
  Deno.unrefTimer(watch);
  const closing = new AbortController();

  const handler = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    if (addr.loopback && !loopbackHost(req.headers.get("host"), server.addr.port)) {
      return respond(421, "421 Misdirected Request: unexpected Host header\n");
    }
    if (req.method === "GET" && path === "/" && url.searchParams.has("token")) {
      if (!auth.tokenMatches(url.searchParams.get("token")!)) return respond(401, UNAUTHORIZED);
      return respond(303, null, { location: "/", "set-cookie": auth.setCookie() });
    }
    const how = auth.check(req);
    if (how === undefined) {
      return respond(401, UNAUTHORIZED, {
        "www-authenticate": 'Bearer realm="distarch"',
        "content-type": "text/plain; charset=utf-8",
      });
    }
    if (req.method === "POST") {
      if (!sameOrigin(req, how)) return json(403, { ok: false, error: "cross-origin request" });
      if (!path.startsWith("/api/") || path === "/api/events") return json(405, notAllowed);
      const body = await readBody(req);
      if (typeof body === "string") return json(400, { ok: false, error: body });
      const r = await runAction(target, path, body);
      return json(r.status, r.body);
    }
    if (req.method !== "GET") {
      return json(405, notAllowed, { allow: "GET, POST" });
    }
    switch (path) {
      case "/":
        return respond(200, INDEX_HTML, { "content-type": "text/html; charset=utf-8" });
      case "/app.js":
        return respond(200, APP_JS, { "content-type": "text/javascript; charset=utf-8" });
      case "/app.css":
        return respond(200, APP_CSS, { "content-type": "text/css; charset=utf-8" });
      case "/favicon.ico":
        return respond(204, null);
      case "/api/instances":
        return json(200, instances());
      case "/api/groups":
        return json(200, groupSummaries(target.groupNames(), instances()));
      case "/metrics":
        return respond(200, metricsText(instances(), feed.counts()), {
          "content-type": METRICS_TYPE,
        });
      case "/api/events": {
        if (streams >= maxStreams) return json(503, { ok: false, error: "too many streams" });
        streams++;
        const body = eventStream({ feed, instances: snapshot }, () => streams--, {
          signal: closing.signal,
        });
        return respond(200, body, {
          "content-type": "text/event-stream; charset=utf-8",
          "x-accel-buffering": "no",
        });
      }
    }
    if (/^\/api\/(groups\/[^/]+\/\w+|instances\/\d+\/restart|stop)$/.test(path)) {
      return json(405, notAllowed, { allow: "POST" });
    }
    return json(404, { ok: false, error: "not found" });
  };

  const server = Deno.serve({
    hostname: addr.hostname,
    port: addr.port,
    onListen: () => {},
    onError: () => json(500, { ok: false, error: "internal error" }),
  }, handler);
  const port = server.addr.port;
  const auth = new Auth(token, port);
  const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
  const shown = host === "0.0.0.0" || host === "[::]" ? "127.0.0.1" : host;
  const url = `http://${shown}:${port}/`;
  const loginUrl = `${url}?token=${token}`;
  logger?.log({ level: "notice", time: Date.now(), message: `dashboard: ${loginUrl}` });
  if (!addr.loopback) {
    logger?.log({
      level: "warning",
      time: Date.now(),
      message: `dashboard listens on ${addr.hostname}, beyond this machine, over plain HTTP: ` +
        "its token and data cross the network unencrypted (put it behind a TLS proxy)",
    });
  }
  let closed: Promise<void> | undefined;
  const close = () =>
    closed ??= (async () => {
      clearInterval(watch);
      if (own) sampler[Symbol.dispose]();
      closing.abort();
      feed.wake();
      await server.shutdown();
    })();
  return { url, loginUrl, token, sampler, close, [Symbol.asyncDispose]: close };
}

const notAllowed = { ok: false, error: "method not allowed" };

/** Reads a JSON object body of at most 4 KiB; an empty body is `{}`; a string is the error. */
async function readBody(req: Request): Promise<Record<string, unknown> | string> {
  const text = await readLimited(req, 4096);
  if (text === undefined) return "body larger than 4096 bytes";
  if (text.trim() === "") return {};
  const type = req.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) return "the body must be application/json";
  try {
    const v = JSON.parse(text);
    if (typeof v === "object" && v !== null && !Array.isArray(v)) return v;
  } catch { /* below */ }
  return "the body must be a JSON object";
}

async function readLimited(req: Request, max: number): Promise<string | undefined> {
  if (req.body === null) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const c of req.body) {
    size += c.length;
    if (size > max) return undefined;
    chunks.push(c);
  }
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) (all.set(c, at), at += c.length);
  return new TextDecoder().decode(all);
}

/** True when `host` (a Host header) names this server on a loopback address. */
function loopbackHost(host: string | null, port: number): boolean {
  if (host === null) return false;
  return [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`].includes(host.toLowerCase());
}
