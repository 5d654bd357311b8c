/**
 * `ps` and `logs` print what workers and configs provide with their control
 * characters escaped, so a worker cannot drive the terminal of whoever reads.
 */

import assert from "node:assert/strict";
import { distarch, startMaster, tempDir } from "../cli/_testing.ts";
import { waitFor } from "./_helpers.ts";

Deno.test("logs escapes control characters from workers; ps prints no raw escape", async () => {
  using dir = tempDir();
  const sock = `${dir.path}/c.sock`;
  const worker = `${dir.path}/evil.sh`;
  Deno.writeTextFileSync(
    worker,
    `#!/bin/sh
read ctx
printf 'evil \\033]0;pwned\\007\\033[2J\\rhidden \\302\\233 end\\n'
exec sleep 600
`,
  );
  Deno.chmodSync(worker, 0o755);
  Deno.writeTextFileSync(
    `${dir.path}/e.yaml`,
    `groups:
  - name: Red
    command: ${worker}
    processes: [{ type: local, instances: 1 }]
gracePeriod: 1
`,
  );
  await using master = await startMaster([`${dir.path}/e.yaml`], sock);
  await waitFor(() => master.stdout().includes("hidden"), 10_000, "the evil line");

  const logs = await distarch(["logs", "--socket", sock]);
  assert.deepEqual(logs.code, 0, logs.stderr);
  // deno-lint-ignore no-control-regex
  assert.ok(!/[\x00-\x08\x0b-\x1f\x7f-\x9f]/.test(logs.stdout), JSON.stringify(logs.stdout));
  assert.match(logs.stdout, /\[Red\] .* evil \\x1b\]0;pwned\\x07\\x1b\[2J\\rhidden \\u009b end\n/);
  const json = await distarch(["logs", "--json", "--socket", sock]);
  assert.ok(json.stdout.includes("\\u001b]0;pwned"), "JSON keeps the text, escaped by JSON itself");

  const ps = await distarch(["ps", "--socket", sock]);
  assert.deepEqual(ps.code, 0, ps.stderr);
  assert.ok(!ps.stdout.includes("\x1b"), JSON.stringify(ps.stdout));
  assert.match(ps.stdout, /\nRed\s+localhost\s+1\s+1\s+\d+\s+running/);
  assert.deepEqual((await distarch(["stop", "--socket", sock])).code, 0);
  assert.deepEqual(await master.exit(), 0, master.stderr());
});
