/**
 * Reading a worker's stdin: the context line the master writes first, the
 * master's further messages, and the end of stdin that means the master is
 * gone.
 *
 * @module
 */

import {
  decodeMasterMessage,
  type MasterMessage,
  PROTOCOL_VERSION,
  type WorkerContext,
} from "../protocol/worker.ts";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 1;
}

/** Validates the first stdin line; returns the context or why it is not one. */
export function parseContext(line: string): WorkerContext | string {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return "the first stdin line is not JSON";
  }
  if (!isRecord(value)) return "the first stdin line is not a JSON object";
  if (value.v !== PROTOCOL_VERSION) {
    return `unsupported protocol version ${JSON.stringify(value.v)}, expected ${PROTOCOL_VERSION}`;
  }
  for (const field of ["id", "groupId", "groupCount"] as const) {
    if (!isCount(value[field])) return `context field '${field}' must be a positive integer`;
  }
  if (typeof value.host !== "string") return "context field 'host' must be a string";
  const group = value.group;
  if (!isRecord(group)) return "context field 'group' must be an object";
  if (typeof group.name !== "string") return "context field 'group.name' must be a string";
  if (typeof group.command !== "string") return "context field 'group.command' must be a string";
  if (!isRecord(group.params)) return "context field 'group.params' must be an object";
  return value as unknown as WorkerContext;
}

/**
 * Reads stdin line by line, into one buffer: bytes after a newline that came
 * in the same read are kept for the next line.
 */
export class StdinLines {
  readonly #buffer: Uint8Array;
  readonly #input: { read(p: Uint8Array): Promise<number | null> };
  #rest: Uint8Array = new Uint8Array(0);
  readonly #decoder = new TextDecoder();

  /**
   * @param buffer What each read fills (its size bounds a read, not a line).
   * @param input What is read. @default {Deno.stdin}
   */
  constructor(
    buffer: Uint8Array,
    input: { read(p: Uint8Array): Promise<number | null> } = Deno.stdin,
  ) {
    this.#buffer = buffer;
    this.#input = input;
  }

  /** The next line (without its `\n` or `\r\n`); `undefined` once stdin ended (or broke). */
  async next(): Promise<string | undefined> {
    const chunks: Uint8Array[] = [];
    while (true) {
      let chunk = this.#rest;
      this.#rest = new Uint8Array(0);
      if (chunk.length === 0) {
        let n: number | null;
        try {
          n = await this.#input.read(this.#buffer);
        } catch {
          n = null;
        }
        if (n === null) return undefined;
        chunk = this.#buffer.slice(0, n);
      }
      const newline = chunk.indexOf(0x0a);
      chunks.push(newline < 0 ? chunk : chunk.subarray(0, newline));
      if (newline >= 0) {
        this.#rest = chunk.subarray(newline + 1);
        const line = this.#decoder.decode(concat(chunks));
        return line.endsWith("\r") ? line.slice(0, -1) : line;
      }
    }
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1 && chunks[0] !== undefined) return chunks[0];
  const out = new Uint8Array(chunks.reduce((sum, c) => sum + c.length, 0));
  let offset = 0;
  for (const c of chunks) {
    out.set(c, offset);
    offset += c.length;
  }
  return out;
}

/**
 * Reads the master's further stdin lines, handing each {@linkcode MasterMessage}
 * to `onMessage` (other lines are ignored); resolves once stdin ends (or
 * breaks): the master is gone.
 */
export async function readMessages(
  lines: StdinLines,
  onMessage: (message: MasterMessage) => void,
): Promise<void> {
  for (let line = await lines.next(); line !== undefined; line = await lines.next()) {
    const message = decodeMasterMessage(line);
    if (message !== undefined) onMessage(message);
  }
}
