// The seed README example end to end over a real sshd, and hostile params/paths.
import assert from "node:assert/strict";
import { tempDir } from "../cli/_testing.ts";
import type { GroupConfig } from "../master/types.ts";
import { assertNoneLeft, fixture, marker, remoteRun, ROOT } from "./_helpers.ts";
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
        const env = { DISTARCH_TEST_MARK: mark };
        await using run = remoteRun([{
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
        }], { gracePeriod: 2, cwd: `${ROOT}examples` });
        const { summary: r, log: c } = await run.done();
        assert.ok(r.ok, c.dump());
        assert.deepEqual(r.instances.map((i) => i.id), Array.from({ length: 13 }, (_, i) => i + 1));
        const hostsOf = (g: string) => r.instances.filter((i) => i.group === g).map((i) => i.host);
        assert.deepEqual(hostsOf("First Group"), [...Array(3).fill("localhost"), h1, h1, h2, h2]);
        assert.deepEqual(hostsOf("Second Group"), [...Array(2).fill("localhost"), h1, h1, h2, h2]);
        for (const i of r.instances) {
          const lines = c.of(i.label);
          assert.ok(lines.length > 0, `no records of ${i.label}\n${c.dump()}`);
          for (const l of lines) {
            assert.deepEqual([l.host, l.id, l.groupId], [i.host, i.id, i.groupId]);
          }
          const text = lines.map((l) => l.message);
          if (i.group === "First Group") {
            assert.deepEqual(i.groupCount, 7);
            for (
              const want of [
                `My ID : ${i.id}`,
                `My Group ID : ${i.groupId}`,
                `There are a total of 7 processes in my group named "First Group"`,
                "Hello World!",
              ]
            ) assert.ok(text.includes(want), `${i.label} on ${i.host}: no "${want}" in ${text}`);
          } else {
            assert.deepEqual(i.groupCount, 6);
            const want = `My ID : ${i.id}, ${i.groupId}/6 in "Second Group"`;
            assert.ok(text.includes(want), `${i.label} on ${i.host}: no "${want}" in ${text}`);
          }
        }
        await assertNoneLeft(mark, 10_000);
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
        using tmp = tempDir({ prefix: "distarch evil $(x) 'q';" });
        const dir = tmp.path;
        const script = `${dir}/w ${evilName}.ts`;
        await Deno.writeTextFile(
          script,
          `import ${JSON.stringify(fixture("r_params_digest.ts"))};\n`,
        );
        const params = { evil, [evil]: [evil, { evil }], big: "x".repeat(1_000_000) };
        const group: GroupConfig = {
          // shell syntax, no control character (names cannot hold them)
          name: `evil ${evil.replaceAll("\n", " ")}`,
          command: script,
          params,
          env: { DISTARCH_TEST_MARK: mark, EVIL: evil },
          permissions: ["--allow-env=EVIL"],
          processes: [sshd.remoteConfig({ instances: 1, path: cwd })],
        };
        await using run = remoteRun([group], {
          gracePeriod: 2,
          restart: "never",
          remove: [pwned],
        });
        const { summary: r, log: c } = await run.done();
        assert.ok(r.ok, c.dump());
        const json = JSON.stringify(params);
        const sha256 = Array.from(
          new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(json))),
          (b) => b.toString(16).padStart(2, "0"),
        ).join("");
        const got = c.records.filter((x) => x.message === "params");
        assert.deepEqual(got.map((x) => x.host).sort(), [...sshd.hosts].sort(), c.dump());
        for (const x of got) {
          assert.deepEqual(x.context, {
            sha256,
            length: json.length,
            host: x.host,
            cwd,
            env: evil,
            group: group.name,
          });
        }
        assert.ok(
          !(await Deno.stat(pwned).then(() => true, () => false)),
          "a shell ran our params",
        );
        for (const d of [sshd.home, cwd, Deno.cwd()]) {
          const names = [...Deno.readDirSync(d)].map((e) => e.name);
          assert.ok(!names.includes("pwned"), `a shell ran our path in ${d}`);
        }
        await assertNoneLeft(mark, 10_000);
      },
    );
  },
});
