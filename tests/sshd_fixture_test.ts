import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { runtimeArtifact } from "../master/transports/_upload.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;

async function ssh(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command("ssh", {
    args,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

Deno.test({
  name: "sshd fixture: a plain ssh reaches every host as the test user, whose PATH has no deno",
  ignore,
  async fn() {
    await using sshd = await startSshd({ hosts: 2, seedCache: false });
    for (const host of sshd.hosts) {
      const r = await ssh([
        "-T",
        "-o",
        "BatchMode=yes",
        "-o",
        `UserKnownHostsFile=${sshd.knownHostsFile}`,
        "-o",
        "IdentitiesOnly=yes",
        "-i",
        sshd.privateKey,
        "-p",
        String(sshd.port),
        "-l",
        sshd.user,
        "--",
        host,
        'id -un; echo "$HOME"; ls -A "$HOME" | wc -l; command -v deno || echo no-deno',
      ]);
      assertEquals(r.code, 0, r.stderr + sshd.log());
      assertEquals(r.stdout.split("\n"), [sshd.user, sshd.home, "0", "no-deno", ""]);
    }
  },
});

Deno.test({
  name: "sshd fixture: an unknown key is refused",
  ignore,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const r = await ssh([
      "-T",
      "-o",
      "BatchMode=yes",
      "-o",
      `UserKnownHostsFile=${sshd.knownHostsFile}`,
      "-o",
      "IdentitiesOnly=yes",
      "-i",
      "/nonexistent-key",
      "-p",
      String(sshd.port),
      "-l",
      sshd.user,
      "--",
      sshd.hosts[0]!,
      "true",
    ]);
    assertEquals(r.code, 255);
    assert(r.stderr.includes("Permission denied"), r.stderr);
  },
});

Deno.test({
  name: "sshd fixture: seedCache puts the runtime where the uploader would, owned by the user",
  ignore,
  async fn() {
    await using sshd = await startSshd({ hosts: 1 });
    const rt = await runtimeArtifact();
    const path = `${sshd.home}/.cache/distarch/${rt.hash}/deno`;
    const st = await Deno.stat(path);
    const home = await Deno.stat(sshd.home);
    assertEquals([st.size, st.uid, st.gid, (st.mode ?? 0) & 0o777], [
      rt.size,
      home.uid,
      home.gid,
      0o755,
    ]);
    assertEquals((await Deno.stat(`${sshd.home}/.cache`)).uid, home.uid);
  },
});
