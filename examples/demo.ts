/**
 * The seed README's master example, with its remote parts replaced by local
 * instances: "First Group" runs 3 instances of script1.ts with a message
 * param, "Second Group" 2 instances of script2.ts. It returns when every
 * worker has finished (they end by themselves after about 2 s).
 *
 * Run: `deno run -A examples/demo.ts` (the same job as `deno task demo`, which runs
 * `examples/distarch.yaml` through the CLI).
 *
 * @module
 */

import { Launcher } from "../master/mod.ts";

const here = new URL(".", import.meta.url).pathname;

const launcher = new Launcher({ cwd: here, timeout: 10 });
const summary = await launcher.run([
  {
    name: "First Group",
    command: "script1.ts",
    params: { message: "Hello World!" },
    processes: [{ type: "local", instances: 3 }],
    // The seed also runs 2 instances on each of two remote hosts:
    // { type: "remote", hosts: ["remote-server-1", "remote-server-2"], instances: 2 },
  },
  {
    name: "Second Group",
    command: "script2.ts",
    processes: [{ type: "local", instances: 2 }],
  },
]);
if (!summary.ok) Deno.exitCode = 1;
