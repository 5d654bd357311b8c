/**
 * Loads a YAML config file: parses it with positions kept, validates it with
 * `validateConfig`, and reports every problem as `file:line:col path: message`.
 *
 * @module
 */

import {
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseDocument,
} from "npm:yaml@2.9.1";
import { _pathText } from "../master/_checks.ts";
import { type Config, ConfigError, type ConfigPath, validateConfig } from "../master/config.ts";
import { normalizePath } from "../master/_paths.ts";
import { errorMessage } from "../_shared/errors.ts";

/**
 * The most characters a config file may hold once its YAML aliases are
 * expanded: a few aliases of a long string, or aliases of aliases ("billion
 * laughs"), must not make the master build a huge config in memory.
 */
export const MAX_EXPANDED_CHARS = 16 * 1024 * 1024;

/** The config file `run` and `validate` read when none is given. */
export const DEFAULT_CONFIG_FILE = "distarch.yaml";

/** One problem in a config file, with its position (1-based). */
export interface FileIssue {
  /** The file as given. */
  file: string;
  /** 1-based line. */
  line: number;
  /** 1-based column. */
  col: number;
  /** The field path, e.g. `groups[0].processes[1].hosts` (empty for YAML syntax errors). */
  pathText: string;
  /** What is wrong. */
  message: string;
}

/**
 * Thrown by {@linkcode loadConfigFile} when the file cannot be read, is not
 * YAML, or is not a valid config. Its message has one issue per line.
 */
export class ConfigFileError extends Error {
  override name = "ConfigFileError";
  /** Every issue, in file order where known. */
  readonly issues: FileIssue[];

  /** Builds the error from issues (or a bare message when the file is unreadable). */
  constructor(issues: FileIssue[], message?: string, options?: ErrorOptions) {
    super(message ?? issues.map(formatIssue).join("\n"), options);
    this.issues = issues;
  }
}

/**
 * Formats an issue as `file:line:col path: message`.
 *
 * @example
 * ```ts
 * import { formatIssue } from "./config_file.ts";
 * formatIssue({ file: "d.yaml", line: 7, col: 9, pathText: "groups[0].name", message: "must not be empty" });
 * // "d.yaml:7:9 groups[0].name: must not be empty"
 * ```
 */
export function formatIssue(i: FileIssue): string {
  return `${i.file}:${i.line}:${i.col} ${i.pathText ? i.pathText + ": " : ""}${i.message}`;
}

/** Options of {@linkcode parseConfigText}. */
export interface ParseConfigOptions {
  /** Directory relative commands are resolved (and checked) against. @default {Deno.cwd()} */
  cwd?: string;
  /** Check that local command files exist. @default {true} */
  checkFiles?: boolean;
}

/**
 * Parses and validates config `text` (named `file` in messages). Throws a
 * {@linkcode ConfigFileError} listing every issue with its position.
 *
 * @example
 * ```ts
 * import { parseConfigText } from "./config_file.ts";
 * const text = "groups:\n  - name: g\n    command: sleep\n    processes: [{ type: local, instances: 1 }]\n";
 * const { groups } = parseConfigText(text, "d.yaml", { checkFiles: false });
 * console.log(groups[0]?.name); // "g"
 * ```
 */
export function parseConfigText(
  text: string,
  file: string,
  options: ParseConfigOptions = {},
): Config {
  const { cwd = Deno.cwd(), checkFiles = true } = options;
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigFileError(doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return { file, line: pos.line, col: pos.col, pathText: "", message: firstLine(e.message) };
    }));
  }
  const at = (offset: number, pathText: string, message: string): FileIssue => {
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, col: pos.col, pathText, message };
  };
  const excess = findExcess(doc.contents, MAX_EXPANDED_CHARS);
  if (excess !== undefined) {
    const mib = MAX_EXPANDED_CHARS / 2 ** 20;
    throw new ConfigFileError([at(
      excess.offset,
      _pathText(excess.path),
      `alias *${excess.alias} makes the config larger than ${mib} MiB once expanded ` +
        `(the most a config may expand to): use *${excess.alias} fewer times`,
    )]);
  }
  let input: unknown;
  try {
    input = doc.toJS({ maxAliasCount: -1 }); // bounded above, by size rather than count
  } catch (e) {
    const why = errorMessage(e);
    throw new ConfigFileError([at(0, "", `cannot read the YAML: ${why}`)], undefined, { cause: e });
  }
  try {
    return validateConfig(input ?? {}, { cwd, checkFiles });
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    const issues = e.issues.map((i) => {
      const atKey = i.message.startsWith("unknown key");
      return at(offsetOf(doc.contents, i.path, atKey), i.pathText, i.message);
    });
    issues.sort((a, b) => a.line - b.line || a.col - b.col); // stable: same place, input order
    throw new ConfigFileError(issues, undefined, { cause: e });
  }
}

/**
 * Reads `file` and parses it with {@linkcode parseConfigText}; relative
 * commands are resolved against the file's directory.
 */
export async function loadConfigFile(
  file: string,
  options: Omit<ParseConfigOptions, "cwd"> = {},
): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    const why = e instanceof Deno.errors.NotFound ? "no such file" : String(e);
    throw new ConfigFileError([], `cannot read config file ${file}: ${why}`, { cause: e });
  }
  return parseConfigText(text, file, { ...options, cwd: configDir(file) });
}

/** The absolute directory of `file`, against which its relative paths are resolved. */
export function configDir(file: string): string {
  const abs = normalizePath(file.startsWith("/") ? file : `${Deno.cwd()}/${file}`);
  return abs.slice(0, abs.lastIndexOf("/")) || "/";
}

function firstLine(s: string): string {
  return s.split("\n")[0] ?? s;
}

/**
 * The source offset best describing `path`: the value when it exists (the key
 * itself for an unknown key, or a key without value), else the deepest parent.
 */
function offsetOf(root: unknown, path: ConfigPath, atKey: boolean): number {
  let node = root as Node | null;
  let best = rangeStart(node);
  for (const [n, step] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === step);
      if (pair === undefined) return best ?? 0;
      const value = pair.value as Node | null;
      const last = n === path.length - 1;
      const at = (last && atKey ? undefined : rangeStart(value)) ?? rangeStart(pair.key as Node);
      if (at === undefined) return best ?? 0;
      best = at;
      node = value;
    } else if (isSeq(node) && typeof step === "number") {
      const item = node.items[step] as Node | undefined;
      const at = rangeStart(item ?? null);
      if (at === undefined) return best ?? 0;
      best = at;
      node = item ?? null;
    } else break;
  }
  return best ?? 0;
}

/** Where expanding the aliases of a document makes it exceed `limit` characters. */
interface Excess {
  /** Path of the alias. */
  path: ConfigPath;
  /** Source offset of the alias. */
  offset: number;
  /** The anchor name it refers to. */
  alias: string;
}

/**
 * Walks the document in the order `toJS` expands it, counting the characters
 * of its scalars (plus a little per item) without building anything; each
 * anchored node's size is kept, so the walk is linear in the source.
 * Returns the first alias after which the total exceeds `limit`.
 */
function findExcess(root: unknown, limit: number): Excess | undefined {
  const anchors = new Map<string, Node>();
  const sizes = new Map<Node, number>();
  let total = 0;
  let excess: Excess | undefined;
  const walk = (node: unknown, path: ConfigPath): void => {
    if (excess !== undefined) return;
    if (isAlias(node)) {
      const target = anchors.get(node.source);
      total += target === undefined ? 0 : sizes.get(target) ?? 0; // unset while still open: a cycle
      if (total > limit) excess = { path, offset: rangeStart(node) ?? 0, alias: node.source };
      return;
    }
    if (node === null || typeof node !== "object") return void (total += 4);
    const n = node as Node;
    if (n.anchor) anchors.set(n.anchor, n);
    const before = total;
    if (isScalar(n)) total += String(n.value).length + 2;
    else if (isMap(n)) {
      for (const pair of n.items) {
        const key = isScalar(pair.key) ? String(pair.key.value) : "?";
        walk(pair.key, [...path, key]);
        walk(pair.value, [...path, key]);
        total += 2;
      }
    } else if (isSeq(n)) n.items.forEach((item, i) => (walk(item, [...path, i]), total += 1));
    sizes.set(n, total - before);
  };
  walk(root, []);
  return excess;
}

function rangeStart(node: Node | null | undefined): number | undefined {
  return (node as { range?: [number, number, number] } | null | undefined)?.range?.[0];
}
