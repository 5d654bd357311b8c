/**
 * The one write-all loop, for synchronous writers whose `writeSync` may
 * write only part of what it is given (pipes, terminals).
 *
 * @module
 */

/** Something bytes can be written to synchronously, as `Deno.stdout` or a `Deno.FsFile`. */
export interface SyncWriter {
  /** Writes some of `p`; returns how many bytes it wrote. */
  writeSync(p: Uint8Array): number;
}

/**
 * Writes all of `bytes`; returns how many were written and, when the writer
 * threw part way, the error (the caller decides what a partial write means).
 *
 * @example
 * ```ts
 * import { tryWriteAllSync } from "./write_all.ts";
 * const broken = { writeSync: (p: Uint8Array) => { if (p.length < 4) throw new Error("closed"); return 2; } };
 * console.log(tryWriteAllSync(broken, new Uint8Array(5)).written); // 2
 * ```
 */
export function tryWriteAllSync(
  writer: SyncWriter,
  bytes: Uint8Array,
): { written: number; error?: unknown } {
  let written = 0;
  try {
    while (written < bytes.length) written += writer.writeSync(bytes.subarray(written));
  } catch (error) {
    return { written, error };
  }
  return { written };
}

/**
 * Writes all of `bytes`, looping over partial writes; throws what the writer
 * throws.
 *
 * @example
 * ```ts
 * import { writeAllSync } from "./write_all.ts";
 * writeAllSync(Deno.stdout, new TextEncoder().encode("hello\n"));
 * ```
 */
export function writeAllSync(writer: SyncWriter, bytes: Uint8Array): void {
  const result = tryWriteAllSync(writer, bytes);
  if ("error" in result) throw result.error;
}

/** Something bytes can be written to asynchronously, as a `Deno.FsFile` or a `Deno.Conn`. */
export interface AsyncWriter {
  /** Writes some of `p`; resolves to how many bytes it wrote. */
  write(p: Uint8Array): Promise<number>;
}

/**
 * Writes all of `bytes` to an async writer; resolves to how many were
 * written and, when the writer failed part way, the error.
 *
 * @example
 * ```ts
 * import { tryWriteAll } from "./write_all.ts";
 * const half = { write: (p: Uint8Array) => Promise.resolve(Math.ceil(p.length / 2)) };
 * console.log((await tryWriteAll(half, new Uint8Array(5))).written); // 5
 * ```
 */
export async function tryWriteAll(
  writer: AsyncWriter,
  bytes: Uint8Array,
): Promise<{ written: number; error?: unknown }> {
  let written = 0;
  try {
    while (written < bytes.length) written += await writer.write(bytes.subarray(written));
  } catch (error) {
    return { written, error };
  }
  return { written };
}

/**
 * Writes all of `bytes` to an async writer, looping over partial writes;
 * rejects with what the writer throws.
 *
 * @example
 * ```ts
 * import { writeAll } from "./write_all.ts";
 * await writeAll(Deno.stdout, new TextEncoder().encode("hello\n"));
 * ```
 */
export async function writeAll(writer: AsyncWriter, bytes: Uint8Array): Promise<void> {
  const result = await tryWriteAll(writer, bytes);
  if ("error" in result) throw result.error;
}
