/**
 * The `[HOST:]PORT` address of the dashboard, as `--http` and `http.listen` take it.
 *
 * @module
 */

/** A parsed listen address. */
export interface ListenAddress {
  /** Host name or address to bind (IPv6 without brackets). */
  hostname: string;
  /** Port; 0 picks a free one. */
  port: number;
  /** True when the address is a loopback one (only this machine can connect). */
  loopback: boolean;
}

/**
 * Parses `PORT`, `HOST:PORT` or `[IPV6]:PORT`; a bare port binds to
 * `127.0.0.1`. Throws a `RangeError` naming the value when it is not one.
 *
 * @example
 * ```ts
 * import { parseListen } from "./listen.ts";
 * parseListen("7700"); // { hostname: "127.0.0.1", port: 7700, loopback: true }
 * parseListen("[::1]:0"); // { hostname: "::1", port: 0, loopback: true }
 * ```
 */
export function parseListen(text: string): ListenAddress {
  const m = /^(?:(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):)?(\d{1,5})$/.exec(text.trim());
  const port = m === null ? NaN : Number(m[2]);
  if (m === null || port > 65535) {
    throw new RangeError(
      `Cannot listen on ${JSON.stringify(text)}: expected [HOST:]PORT, e.g. 7700, ` +
        `127.0.0.1:7700 or [::1]:7700, with a port from 0 to 65535`,
    );
  }
  const raw = m[1] ?? "127.0.0.1";
  const hostname = raw.startsWith("[") ? raw.slice(1, -1) : raw;
  const loopback = hostname === "localhost" || hostname === "::1" ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
  return { hostname, port, loopback };
}
