/**
 * The dashboard's authentication: a bearer token, or a session cookie that
 * the login URL (`/?token=…`) sets; tokens and cookies are compared in
 * constant time. Actions also need a same-origin `Origin` (no CSRF).
 *
 * @module
 */

import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/** Shortest token accepted: 16 characters, so a weak one is refused rather than guessed. */
export const MIN_TOKEN_LENGTH = 16;

/** A fresh random token: 32 bytes, base64url (43 characters). */
export function newToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, "-").replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Throws a `RangeError` when `token` is too short or holds characters a URL or header would mangle. */
export function checkToken(token: string): string {
  if (token.length < MIN_TOKEN_LENGTH || !/^[A-Za-z0-9._~-]+$/.test(token)) {
    throw new RangeError(
      `Cannot use the dashboard token: it must be at least ${MIN_TOKEN_LENGTH} characters of ` +
        `A-Z a-z 0-9 . _ ~ - (got ${token.length} characters)`,
    );
  }
  return token;
}

/** Checks credentials of requests against one token. */
export class Auth {
  readonly #digest: Uint8Array;
  readonly #session: string;
  /** Name of the session cookie (it holds the port: cookies are shared across ports). */
  readonly cookieName: string;

  /** `port` names the cookie, so two masters on one host do not overwrite each other's. */
  constructor(token: string, port: number) {
    this.#digest = sha256(token);
    this.#session = createHmac("sha256", token).update("distarch dashboard session v1")
      .digest("base64url");
    this.cookieName = `distarch_session_${port}`;
  }

  /** True when `candidate` is the token (constant time, whatever its length). */
  tokenMatches(candidate: string): boolean {
    return timingSafeEqual(sha256(candidate), this.#digest);
  }

  /** How `req` authenticates: `"bearer"`, `"cookie"`, or `undefined` (refuse with 401). */
  check(req: Request): "bearer" | "cookie" | undefined {
    const header = req.headers.get("authorization");
    if (header !== null) {
      const m = /^Bearer[ ]+(\S+)\s*$/i.exec(header);
      return m !== null && this.tokenMatches(m[1]!) ? "bearer" : undefined;
    }
    const cookie = readCookie(req.headers.get("cookie"), this.cookieName);
    if (cookie === undefined) return undefined;
    return timingSafeEqual(sha256(cookie), sha256(this.#session)) ? "cookie" : undefined;
  }

  /** The `Set-Cookie` value of a session: HttpOnly, SameSite=Strict, whole site, browser session. */
  setCookie(): string {
    return `${this.cookieName}=${this.#session}; Path=/; HttpOnly; SameSite=Strict`;
  }
}

/**
 * True when a state-changing request comes from the dashboard's own origin:
 * its `Origin` (when sent; a browser always sends it with a POST) is
 * `http://<Host>`, and `Sec-Fetch-Site`, when sent, is `same-origin`. A
 * cookie-authenticated request must carry an `Origin`.
 */
export function sameOrigin(req: Request, how: "bearer" | "cookie"): boolean {
  const origin = req.headers.get("origin");
  const site = req.headers.get("sec-fetch-site");
  if (site !== null && site !== "same-origin" && site !== "none") return false;
  if (origin === null) return how === "bearer";
  const host = req.headers.get("host");
  return host !== null && origin === `http://${host}`;
}

function sha256(text: string): Uint8Array {
  return createHash("sha256").update(text).digest();
}

function readCookie(header: string | null, name: string): string | undefined {
  if (header === null) return undefined;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
