/**
 * `distarch run` with the example scripts on local and loopback-SSH hosts,
 * `ps` while it runs, then `stop`.
 */

import assert from "node:assert/strict";
import { distarch, ROOT, startMaster, tempDir } from "../cli/_testing.ts";
import type { InstanceInfo } from "../master/events.ts";
import { waitFor } from "./_helpers.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

const why = sshdUnavailable();

Deno.test({
  name: "run starts the example groups locally and on loopback SSH hosts; ps and stop reach them",
  ignore: why !== undefined,
  async fn() {
    await using sshd = await startSshd({ hosts: 2 });
    using dir = tempDir();
    const sock = `${dir.path}/s.sock`;
    const remote = JSON.stringify({
      type: "remote",
      hosts: sshd.hosts,
      instances: 2,
      username: sshd.user,
      privateKey: sshd.privateKey,
      port: sshd.port,
      sshOptions: sshd.sshOptions,
    });
    Deno.writeTextFileSync(
      `${dir.path}/distarch.yaml`,
      `groups:
  - name: First Group
    command: ${ROOT}examples/script1.ts
    params: { message: Hello World!, iterations: 1000 }
    processes:
      - { type: local, instances: 3 }
      - ${remote}
  - name: Second Group
    command: ${ROOT}examples/script2.ts
    processes:
      - { type: local, instances: 2 }
gracePeriod: 5
`,
    );
    const v = await distarch(["validate", `${dir.path}/distarch.yaml`]);
    assert.deepEqual(
      v.stdout.trim().endsWith("ok (2 groups, 9 instances)"),
      true,
      v.stdout + v.stderr,
    );
    await using master = await startMaster([`${dir.path}/distarch.yaml`, "--plain"], sock);
    let infos: InstanceInfo[] = [];
    await waitFor(
      async () => {
        const res = await distarch(["ps", "--json", "--socket", sock]);
        infos = JSON.parse(res.stdout);
        return infos.filter((i) => i.group === "First Group" && i.state === "running").length === 7;
      },
      60_000,
      "7 First Group instances running (3 local, 2 on each SSH host)",
    );
    const hosts = infos.filter((i) => i.group === "First Group").map((i) => i.host);
    assert.deepEqual(
      hosts.sort(),
      ["localhost", "localhost", "localhost", ...sshd.hosts, ...sshd.hosts].sort(),
    );
    const table = (await distarch(["ps", "--socket", sock])).stdout;
    assert.match(
      table,
      new RegExp(`First Group\\s+${sshd.hosts[1]!.replaceAll(".", "\\.")}\\s+\\d+`),
    );
    const stop = await distarch(["stop", "--socket", sock]);
    assert.deepEqual(stop.code, 0, stop.stderr);
    assert.deepEqual(await master.exit(30_000), 0, master.stderr());
    const out = master.stdout();
    for (const h of sshd.hosts) {
      assert.match(out, new RegExp(`\\[First Group\\] \\[${h}\\] .*Hello World!`));
    }
    assert.ok(out.includes("[localhost]"));
  },
});
