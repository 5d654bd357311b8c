/**
 * Test fixture: the repository served over HTTP on loopback, as a CDN would
 * serve the package, so that tests can import it by URL from a directory
 * outside the repository; and the same files laid out as a JSR registry
 * (`JSR_URL=<url>`), so that `jsr:@distarch/distarch/…` specifiers resolve to
 * this checkout.
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

/** Files of a JSR package version's manifest: every file under `root` but dot-directories. */
async function manifest(root: string): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  async function walk(dir: string): Promise<void> {
    for await (const e of Deno.readDir(root + dir)) {
      if (e.name.startsWith(".") || e.name === "node_modules") continue;
      const path = `${dir}${e.name}`;
      if (e.isDirectory) await walk(`${path}/`);
      else if (e.isFile) {
        const data = await Deno.readFile(root + path);
        const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", data));
        const hex = Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
        out[`/${path}`] = { size: data.length, checksum: `sha256-${hex}` };
      }
    }
  }
  await walk("");
  return out;
}

/**
 * The JSR registry API for the package of `root/deno.json`, as far as Deno
 * uses it: `/<name>/meta.json`, `/<name>/<version>_meta.json` (exports and
 * checksums) and `/<name>/<version>/<file>`. Undefined for other paths.
 */
async function registry(root: string, path: string): Promise<Response | undefined> {
  const config = JSON.parse(await Deno.readTextFile(`${root}deno.json`));
  const { name, version } = config as { name: string; version: string };
  if (!path.startsWith(`/${name}/`)) return undefined;
  const rest = path.slice(name.length + 2);
  if (rest === "meta.json") return Response.json({ latest: version, versions: { [version]: {} } });
  if (rest === `${version}_meta.json`) {
    // the CLI's export, until deno.json has it
    const exports = { "./cli": "./cli.ts", ...config.exports };
    return Response.json({ exports, manifest: await manifest(root) });
  }
  return rest.startsWith(`${version}/`) ? undefined : new Response("not found", { status: 404 });
}

/**
 * Serves `root` (default: the repository) read-only on 127.0.0.1, on a free
 * port: as plain files, and as a JSR registry holding its package.
 */
export function serveFiles(root: string = ROOT): FileServer {
  const requests: string[] = [];
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    async (req) => {
      const path = decodeURIComponent(new URL(req.url).pathname);
      requests.push(path);
      if (path.split("/").includes("..")) return new Response("bad path", { status: 400 });
      const api = await registry(root, path);
      if (api !== undefined) return api;
      // a registry file, /@scope/name/<version>/<file>, or a plain one
      const file = path.startsWith("/@") ? path.split("/").slice(4).join("/") : path.slice(1);
      try {
        const body = await Deno.readFile(root + file);
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
