/**
 * Makes text from workers and from the master safe to print on a terminal:
 * control characters are shown as escapes instead of being obeyed.
 *
 * @module
 */

// C0 controls but tab, DEL, C1 controls
// deno-lint-ignore no-control-regex
const CONTROLS = /[\x00-\x08\x0a-\x1f\x7f-\x9f]/g;

const NAMED: Record<string, string> = { "\n": "\\n", "\r": "\\r" };

function escapeOne(c: string): string {
  return NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
}

/**
 * Replaces every C0 control character but tab, DEL and every C1 control
 * character of `text` by a visible escape (`\x1b`, `\x7f`, `\x9b`; `\n` and
 * `\r` for line feed and carriage return), so that printing it cannot move
 * the cursor, recolour or retitle the terminal, or hide what came before.
 * Backslashes are kept as they are.
 *
 * @example
 * ```ts
 * import { escapeControls } from "./_escape.ts";
 * console.log(escapeControls("\x1b[2Jgone\r")); // \x1b[2Jgone\r
 * ```
 */
export function escapeControls(text: string): string {
  CONTROLS.lastIndex = 0;
  return CONTROLS.test(text) ? text.replace(CONTROLS, escapeOne) : text;
}
