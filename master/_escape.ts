/**
 * Escaping for text output: what a worker prints must not drive the
 * terminal (window title, OSC 52 clipboard, clear screen, a bare CR over
 * the tag) nor start a line of its own. One function for strings, one for
 * the bytes of the raw fast path; both write the same escapes.
 *
 * @module
 */

// deno-lint-ignore no-control-regex
const UNSAFE = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/;
// deno-lint-ignore no-control-regex
const UNSAFE_ALL = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

function escapeChar(c: string): string {
  const n = c.charCodeAt(0);
  if (n === 10) return "\\n";
  if (n === 13) return "\\r";
  return (n < 0x80 ? "\\x" : "\\u00") + n.toString(16).padStart(2, "0");
}

/**
 * Makes text safe to print on a terminal: C0 controls (except tab), ESC,
 * DEL and C1 controls become visible escapes (`\x1b`, `\x7f`, `\u009b`; a
 * newline `\n`, a carriage return `\r`), so a worker cannot change the
 * window title, write the clipboard, clear the screen or overwrite a tag.
 * Returns `s` itself when there is nothing to escape.
 *
 * @example
 * ```ts
 * import { escapeText } from "./log.ts";
 * escapeText("a\x1b]0;owned\x07b\r"); // "a\\x1b]0;owned\\x07b\\r"
 * ```
 */
export function escapeText(s: string): string {
  return UNSAFE.test(s) ? s.replace(UNSAFE_ALL, escapeChar) : s;
}

const HEX = "0123456789abcdef";

/** Copies `src[i..end)` to `dst` at `pos`, escaping as {@linkcode escapeText}; returns the end. */
export function escapeBytes(
  src: Uint8Array,
  i: number,
  end: number,
  dst: Uint8Array,
  pos: number,
): number {
  for (; i < end; i++) {
    const b = src[i]!;
    let code = -1;
    if ((b < 32 && b !== 9) || b === 127) code = b;
    else if (b === 0xc2 && i + 1 < end && src[i + 1]! >= 0x80 && src[i + 1]! <= 0x9f) {
      code = src[++i]!;
    }
    if (code < 0) {
      dst[pos++] = b;
      continue;
    }
    dst[pos++] = 92; // "\\"
    if (code === 13 || code === 10) {
      dst[pos++] = code === 13 ? 114 : 110; // "r", "n"
      continue;
    }
    if (code < 0x80) dst[pos++] = 120; // "x"
    else for (const c of "u00") dst[pos++] = c.charCodeAt(0);
    dst[pos++] = HEX.charCodeAt(code >> 4);
    dst[pos++] = HEX.charCodeAt(code & 15);
  }
  return pos;
}
