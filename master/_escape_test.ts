import assert from "node:assert/strict";
import { escapeBytes, escapeText } from "./_escape.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

function bytes(src: Uint8Array): string {
  const dst = new Uint8Array(src.length * 6);
  return dec.decode(dst.subarray(0, escapeBytes(src, 0, src.length, dst, 0)));
}

Deno.test("escapeBytes writes what escapeText writes, for every control and around C1", () => {
  let all = "";
  for (let c = 0; c < 0xa0; c++) all += String.fromCharCode(c) + "|";
  assert.equal(bytes(enc.encode(all)), escapeText(all));
  assert.equal(bytes(enc.encode("é©€😀\t")), "é©€😀\t", "UTF-8 and tab pass as they are");
});

Deno.test("escapeBytes keeps invalid UTF-8 and a lone 0xC2 at the end as they are", () => {
  const src = new Uint8Array([0x61, 0xff, 0xc2]);
  const dst = new Uint8Array(18);
  assert.deepEqual(dst.subarray(0, escapeBytes(src, 0, 3, dst, 0)), src);
});
