import assert from "node:assert/strict";
import { DEFAULTS } from "./defaults.ts";
import { supervisorSettings } from "./_settings.ts";

Deno.test("supervisorSettings() turns the launch options' seconds into milliseconds", () => {
  const s = supervisorSettings({
    ...DEFAULTS,
    restart: "always",
    maxRestarts: 2,
    maxProcessTimeouts: 4,
    gracePeriod: 1.5,
    backoffInitial: 0.25,
    backoffMax: 10,
    backoffReset: 30,
    maxLineBytes: 1024,
  });
  assert.deepEqual(s, {
    restart: "always",
    maxRestarts: 2,
    maxProcessTimeouts: 4,
    graceMs: 1500,
    backoffInitialMs: 250,
    backoffMaxMs: 10_000,
    backoffResetMs: 30_000,
    maxLineBytes: 1024,
  });
});
