import assert from "node:assert/strict";
import { bytes, duration, percent } from "./_format.ts";

Deno.test("duration() shows hours, minutes and seconds as needed", () => {
  assert.deepEqual([duration(-5), duration(3_999), duration(123_000), duration(3_723_000)], [
    "0s",
    "3s",
    "2m03s",
    "1h02m03s",
  ]);
});

Deno.test("bytes() uses binary units with one decimal, and - when unknown", () => {
  assert.deepEqual(
    [bytes(undefined), bytes(-1), bytes(0), bytes(1023), bytes(1536), bytes(50_855_936)],
    ["-", "-", "0 B", "1023 B", "1.5 KiB", "48.5 MiB"],
  );
  assert.equal(bytes(3 * 1024 ** 3), "3.0 GiB");
});

Deno.test("percent() has one decimal, and - when unknown", () => {
  assert.deepEqual([percent(undefined), percent(0), percent(12.46), percent(250)], [
    "-",
    "0.0%",
    "12.5%",
    "250.0%",
  ]);
});
