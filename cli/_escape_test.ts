import { deepStrictEqual as eq } from "node:assert/strict";
import { escapeControls } from "./_escape.ts";

Deno.test("escapeControls() shows C0, DEL and C1 controls as escapes", () => {
  eq(escapeControls("\x1b]0;owned\x07\x1b[31mred"), "\\x1b]0;owned\\x07\\x1b[31mred");
  eq(escapeControls("a\rb\nc\x00\x7f\x9b\x85"), "a\\rb\\nc\\x00\\x7f\\x9b\\x85");
});

Deno.test("escapeControls() keeps tabs, backslashes and printable Unicode", () => {
  const text = "a\tb \\x1b é 日本 \u00a0 🙂";
  eq(escapeControls(text), text);
});
