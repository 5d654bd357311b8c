// The seed README example end to end over a real sshd, and hostile params/paths.
import { deepEqual as assertEquals, ok as assert } from "node:assert/strict";
import { Launcher } from "../master/launcher.ts";
import type { GroupConfig } from "../master/types.ts";
import { assertNoneLeft, collector, fixture, marker, ROOT } from "./_helpers.ts";
import { sshdUnavailable, startSshd } from "./_sshd.ts";

const ignore = sshdUnavailable() !== undefined;

Deno.test({
  name: "remote: the README example runs 3+2+2 and 2+2+2 instances, each knowing who it is",
  ignore,
  sanitizeResources: false,
  async fn(t) {
    await using sshd = await startSshd({ hosts: 2 });
    const [h1, h2] = sshd.hosts as [string, string];

    await t.step(
      "script1/script2: ids, group ranks, counts, params and host of each log line",
      async () => {
        const mark = marker();
        const c = collector();
        const env = { DISTARCH_TEST_MARK: mark };
        const launcher = new Launcher({
          sshLease: 3,
          logger: c,
          handleSignals: false,
          gracePeriod: 2,
          cwd: `${ROOT}examples`,
        });
        try {
          const r = await launcher.run([{
            name: "First Group",
            command: "script1.ts",
            params: { message: "Hello World!", iterations: 2 },
            env,
            processes: [{ type: "local", instances: 3 }, sshd.remoteConfig({ instances: 2 })],
          }, {
            name: "Second Group",
            command: "script2.ts",
            params: { iterations: 1 },
            env,
            processes: [{ type: "local", instances: 2 }, sshd.remoteConfig({ instances: 2 })],
          }]);
          assert(r.ok, c.dump());
          assertEquals(r.instances.map((i) => i.id), Array.from({ length: 13 }, (_, i) => i + 1));
          const hostsOf = (g: string) =>
            r.instances.filter((i) => i.group === g).map((i) => i.host);
          assertEquals(hostsOf("First Group"), [...Array(3).fill("localhost"), h1, h1, h2, h2]);
          assertEquals(hostsOf("Second Group"), [...Array(2).fill("localhost"), h1, h1, h2, h2]);
          for (const i of r.instances) {
            const lines = c.of(i.label);
            assert(lines.length > 0, `no records of ${i.label}\n${c.dump()}`);
            for (const l of lines) {
              assertEquals([l.host, l.id, l.groupId], [i.host, i.id, i.groupId]);
            }
            const text = lines.map((l) => l.message);
            if (i.group === "First Group") {
              assertEquals(i.groupCount, 7);
              for (
                const want of [
                  `My ID : ${i.id}`,
                  `My Group ID : ${i.groupId}`,
                  `There are a total of 7 processes in my group named "First Group"`,
                  "Hello World!",
                ]
              ) assert(text.includes(want), `${i.label} on ${i.host}: no "${want}" in ${text}`);
            } else {
              assertEquals(i.groupCount, 6);
              const want = `My ID : ${i.id}, ${i.groupId}/6 in "Second Group"`;
              assert(text.includes(want), `${i.label} on ${i.host}: no "${want}" in ${text}`);
            }
          }
        } finally {
          await launcher.stop();
          await assertNoneLeft(mark, 10_000);
        }
      },
    );

    await t.step(
      "hostile params, env, path and script name reach remote workers intact, a 1 MB params object too",
      async () => {
        const mark = marker();
        const pwned = `/tmp/distarch-pwned-${mark}`;
        const evil = `$(touch ${pwned})\`touch ${pwned}\`;touch ${pwned};'"\n\\ * | & > ${pwned}`;
        // file names cannot hold "/": these write to the current directory
        const evilName = `$(touch pwned) 'q' \`touch pwned\`;touch pwned\nz`;
        // a remote working directory with shell syntax in its name
        const cwd = `${sshd.home}/dir ${evilName}`;
        await Deno.mkdir(cwd);
        const owner = await Deno.stat(sshd.home);
        await Deno.chown(cwd, owner.uid, owner.gid);
        // a local script with shell syntax in its name, shipped as a bundle
        const dir = await Deno.makeTempDir({ prefix: "distarch evil $(x) 'q';" });
        const script = `${dir}/w ${evilName}.ts`;
        await Deno.writeTextFile(
          script,
          `import ${JSON.stringify(fixture("r_params_digest.ts"))};\n`,
        );
        const params = { evil, [evil]: [evil, { evil }], big: "x".repeat(1_000_000) };
        const c = collector();
        const launcher = new Launcher({
          sshLease: 3,
          logger: c,
          handleSignals: false,
          gracePeriod: 2,
          restart: "never",
        });
        const group: GroupConfig = {
          name: `evil ${evil.replaceAll("\n", " ")}`, // names hold no control characters
          command: script,
          params,
          env: { DISTARCH_TEST_MARK: mark, EVIL: evil },
          permissions: ["--allow-env=EVIL"],
          processes: [sshd.remoteConfig({ instances: 1, path: cwd })],
        };
        try {
          const r = await launcher.run([group]);
          assert(r.ok, c.dump());
          const json = JSON.stringify(params);
          const sha256 = Array.from(
            new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(json))),
            (b) => b.toString(16).padStart(2, "0"),
          ).join("");
          const got = c.records.filter((x) => x.message === "params");
          assertEquals(got.map((x) => x.host).sort(), [...sshd.hosts].sort(), c.dump());
          for (const x of got) {
            assertEquals(x.context, {
              sha256,
              length: json.length,
              host: x.host,
              cwd,
              env: evil,
              group: group.name,
            });
          }
          assert(!(await Deno.stat(pwned).then(() => true, () => false)), "a shell ran our params");
          for (const d of [sshd.home, cwd, Deno.cwd()]) {
            const names = [...Deno.readDirSync(d)].map((e) => e.name);
            assert(!names.includes("pwned"), `a shell ran our path in ${d}`);
          }
        } finally {
          await launcher.stop();
          await assertNoneLeft(mark, 10_000);
          await Deno.remove(dir, { recursive: true });
          await Deno.remove(pwned).catch(() => {});
        }
      },
    );
  },
});
