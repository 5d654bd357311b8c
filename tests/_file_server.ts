/**
 * Test fixture: the repository served over HTTP on loopback, as a registry
 * or a CDN would serve the package, so that tests can import it by URL from
 * a directory outside the repository.
 *
 * @module
 */

import { ROOT } from "./_helpers.ts";

const TYPES: Record<string, string> = {
  ts: "application/typescript; charset=utf-8",
  js: "application/javascript; charset=utf-8",
  json: "application/json; charset=utf-8",
};

/** A running file server. */
export interface FileServer extends AsyncDisposable {
  /** Its base URL, with a trailing slash: `http://127.0.0.1:<port>/`. */
  url: string;
  /** Its `host:port`, e.g. for `--allow-import=`. */
  host: string;
  /** Every path asked for, in order. */
  requests: string[];
}

/** Serves `root` (default: the repository) read-only on 127.0.0.1, on a free port. */
export function serveFiles(root: string = ROOT): FileServer {
  const requests: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      requests.push(path);
      if (path.split("/").includes("..")) return new Response("bad path", { status: 400 });
      try {
        const body = await Deno.readFile(root + path.slice(1));
        const type = TYPES[path.split(".").pop() ?? ""] ?? "application/octet-stream";
        return new Response(body, { headers: { "content-type": type } });
      } catch {
        return new Response("not found", { status: 404 });
      }
    },
  );
  const host = `127.0.0.1:${server.addr.port}`;
  return {
    url: `http://${host}/`,
    host,
    requests,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}
