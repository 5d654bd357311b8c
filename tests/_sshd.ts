/**
 * Test fixture: a real OpenSSH server on loopback addresses (127.0.0.2…),
 * with throw-away host and client keys, a dedicated login user whose home is
 * a fresh empty directory and whose PATH has no `deno` (to prove that remote
 * hosts need nothing installed).
 *
 * Needs root and `/usr/sbin/sshd`. Without them tests should be ignored
 * ({@linkcode sshdUnavailable}); with `CI=true` that is an error instead.
 *
 * @module
 */

import type { RemoteProcessConfig } from "../master/types.ts";
import { runtimeArtifact } from "../master/transports/_upload.ts";

/** The login user of the fixture. */
export const TEST_USER = "distarch-test";
const SSHD = "/usr/sbin/sshd";

/** A running sshd. */
export interface SshdFixture {
  /** Addresses it listens on: 127.0.0.2, 127.0.0.3… */
  hosts: string[];
  /** Its port (the same on every address). */
  port: number;
  /** Login user. */
  user: string;
  /** Home directory of the user for this fixture (fresh and empty at start). */
  home: string;
  /** Client private key accepted by the server. */
  privateKey: string;
  /** known_hosts file holding the server's key for every address. */
  knownHostsFile: string;
  /** OpenSSH options every client needs (`UserKnownHostsFile`…). */
  sshOptions: Record<string, string>;
  /** Pid of the sshd listener. */
  pid: number;
  /** A remote process config reaching all hosts, with `overrides` applied. */
  remoteConfig(overrides?: Partial<RemoteProcessConfig>): RemoteProcessConfig;
  /** The last lines sshd logged (for failure messages). */
  log(): string;
}

/**
 * Why the fixture cannot run here, or `undefined` when it can. Throws when
 * `CI=true`, so that a CI run never skips the SSH tests silently.
 */
export function sshdUnavailable(): string | undefined {
  let why: string | undefined;
  try {
    Deno.statSync(SSHD);
    if (Deno.uid() !== 0) why = "the sshd fixture needs root";
  } catch {
    why = `${SSHD} is missing (apt-get install openssh-server)`;
  }
  if (why !== undefined && Deno.env.get("CI") === "true") throw new Error(why);
  return why;
}

async function run(cmd: string, args: string[], options: { ok?: number[] } = {}): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const { ok = [0] } = options;
  if (!ok.includes(out.code)) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`${cmd} ${args.join(" ")} failed with code ${out.code}: ${err}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Makes sure the test user exists (no password, `/bin/sh`); its uid and gid. */
export async function ensureUser(): Promise<{ uid: number; gid: number }> {
  const exists = await new Deno.Command("id", { args: [TEST_USER], stdout: "null", stderr: "null" })
    .output();
  if (!exists.success) {
    // useradd may race with another fixture: code 9 = the user exists already
    await run("useradd", ["-M", "-d", "/", "-s", "/bin/sh", TEST_USER], { ok: [0, 9] });
  }
  // "*": no password, but not "locked" (sshd refuses locked accounts without PAM)
  await run("usermod", ["-p", "*", TEST_USER]);
  const uid = Number((await run("id", ["-u", TEST_USER])).trim());
  const gid = Number((await run("id", ["-g", TEST_USER])).trim());
  return { uid, gid };
}

function freePort(hostname: string): number {
  const l = Deno.listen({ hostname, port: 0 });
  const { port } = l.addr as Deno.NetAddr;
  l.close();
  return port;
}

/** A directory with every program of /usr/bin except `deno`, to be the user's PATH. */
async function pathWithoutDeno(dir: string): Promise<void> {
  await Deno.mkdir(dir);
  for await (const e of Deno.readDir("/usr/bin")) {
    if (e.name === "deno") continue;
    await Deno.symlink(`/usr/bin/${e.name}`, `${dir}/${e.name}`);
  }
}

async function waitListening(hosts: string[], port: number, child: Deno.ChildProcess) {
  const end = Date.now() + 10_000;
  let exited = false;
  child.status.then(() => exited = true);
  for (const hostname of hosts) {
    while (true) {
      if (exited) throw new Error("sshd exited at start");
      try {
        (await Deno.connect({ hostname, port })).close();
        break;
      } catch (error) {
        if (Date.now() > end) {
          throw new Error(`sshd does not listen on ${hostname}:${port}`, { cause: error });
        }
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/** Live (not zombie) pids and their parents, from /proc. */
function processTable(): Map<number, number> {
  const table = new Map<number, number>();
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
      const [state, ppid] = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      if (state !== "Z") table.set(Number(e.name), Number(ppid));
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/** Pids of every live descendant of `pid`. */
export function descendantsOf(pid: number): number[] {
  const table = processTable();
  const found = new Set<number>([pid]);
  let grew = true;
  while (grew) {
    grew = false;
    for (const [p, parent] of table) {
      if (!found.has(p) && found.has(parent)) {
        found.add(p);
        grew = true;
      }
    }
  }
  found.delete(pid);
  return [...found];
}

function signalAll(pids: number[], signal: Deno.Signal): void {
  for (const pid of pids) {
    try {
      Deno.kill(pid, signal);
    } catch { /* gone */ }
  }
}

/** Options of {@linkcode startSshd}. */
export interface SshdOptions {
  /** How many loopback addresses (127.0.0.2…) to listen on. @default {2} */
  hosts?: number;
  /** Listen on these addresses instead (e.g. inside `netns`). @default {127.0.0.2…} */
  addresses?: string[];
  /** Run sshd inside this network namespace (`ip netns exec`). */
  netns?: string;
  /**
   * Put this master's Deno runtime in the user's cache, laid out as the
   * uploader would, so that only tests about zero install pay the upload.
   * @default {true}
   */
  seedCache?: boolean;
}

/**
 * Copies the master's Deno into `<home>/.cache/distarch/<sha256>/deno`,
 * owned by the user, exactly where and how `ensureArtifacts` would put it.
 */
async function seedRuntime(home: string, uid: number, gid: number): Promise<void> {
  const rt = await runtimeArtifact();
  let dir = home;
  for (const part of [".cache", "distarch", rt.hash]) {
    dir += `/${part}`;
    await Deno.mkdir(dir, { mode: 0o755 });
    await Deno.chown(dir, uid, gid);
  }
  const tmp = `${dir}/.${rt.name}.seed.tmp`;
  await Deno.copyFile(rt.path, tmp);
  await Deno.chmod(tmp, 0o755);
  await Deno.chown(tmp, uid, gid);
  await Deno.rename(tmp, `${dir}/${rt.name}`);
}

/** A port nothing listens on in a fresh network namespace. */
function randomPort(): number {
  return 20_000 + Math.floor(Math.random() * 40_000);
}

/** Starts a real sshd on `hosts` loopback addresses (default 2). Dispose it to stop it. */
export async function startSshd(options: SshdOptions = {}): Promise<SshdFixture & AsyncDisposable> {
  const { hosts: count = 2, addresses, netns, seedCache = true } = options;
  const why = sshdUnavailable();
  if (why !== undefined) throw new Error(`Cannot start the sshd fixture: ${why}`);
  const { uid, gid } = await ensureUser();
  await Deno.mkdir("/run/sshd", { recursive: true, mode: 0o755 });
  const dir = await Deno.makeTempDir({ prefix: "distarch-sshd-" });
  try {
    await Deno.chmod(dir, 0o755);
    const home = `${dir}/home`;
    await Deno.mkdir(home, { mode: 0o700 });
    await Deno.chown(home, uid, gid);
    await pathWithoutDeno(`${dir}/bin`);
    if (seedCache) await seedRuntime(home, uid, gid);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/host_key`]);
    await run("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", `${dir}/client_key`]);
    await Deno.copyFile(`${dir}/client_key.pub`, `${dir}/authorized_keys`);
    await Deno.chmod(`${dir}/authorized_keys`, 0o644);
    const hosts = addresses ?? Array.from({ length: count }, (_, i) => `127.0.0.${i + 2}`);
    const port = netns === undefined ? freePort(hosts[0]!) : randomPort();
    const hostKey = (await Deno.readTextFile(`${dir}/host_key.pub`)).trim().split(" ")
      .slice(0, 2).join(" ");
    const knownHostsFile = `${dir}/known_hosts`;
    await Deno.writeTextFile(
      knownHostsFile,
      hosts.map((h) => `[${h}]:${port} ${hostKey}\n`).join(""),
    );
    const config = [
      ...hosts.map((h) => `ListenAddress ${h}:${port}`),
      `HostKey ${dir}/host_key`,
      `PidFile none`,
      `AuthorizedKeysFile ${dir}/authorized_keys`,
      `AllowUsers ${TEST_USER}`,
      `StrictModes no`,
      `UsePAM no`,
      `PasswordAuthentication no`,
      `KbdInteractiveAuthentication no`,
      `PubkeyAuthentication yes`,
      `PermitRootLogin no`,
      `MaxSessions 100`,
      `MaxStartups 100`,
      `LogLevel ERROR`,
      `SetEnv PATH=${dir}/bin HOME=${home}`,
    ].join("\n") + "\n";
    await Deno.writeTextFile(`${dir}/sshd_config`, config);
    const sshdArgs = ["-D", "-e", "-f", `${dir}/sshd_config`];
    // `ip netns exec` execs sshd: the pid is sshd's
    const child = new Deno.Command(netns === undefined ? SSHD : "ip", {
      args: netns === undefined ? sshdArgs : ["netns", "exec", netns, SSHD, ...sshdArgs],
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const logLines: string[] = [];
    const logDone = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) {
        logLines.push(...chunk.split("\n").filter((l) => l !== ""));
        if (logLines.length > 200) logLines.splice(0, logLines.length - 200);
      }
    })();
    const stop = async () => {
      // Sessions outlive the listener. Give them a moment to end by themselves
      // (their clients closed), then end them, and wait for their agents (which
      // stop their instances when their link ends) to be gone, all while the
      // listener is still there to reap its children; then stop the listener.
      const descendants = descendantsOf(child.pid);
      const live = () => descendants.filter((p) => processTable().has(p));
      const wait = async (ms: number) => {
        const end = Date.now() + ms;
        while (live().length > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 25));
      };
      await wait(1000);
      const table = processTable();
      signalAll(live().filter((p) => table.get(p) === child.pid), "SIGTERM");
      await wait(15_000);
      signalAll(live(), "SIGKILL");
      await wait(2000);
      try {
        child.kill("SIGTERM");
      } catch { /* gone */ }
      await child.status;
      await logDone;
    };
    try {
      await waitListening(hosts, port, child);
    } catch (error) {
      await stop();
      throw new Error(`sshd did not start: ${logLines.join("\n")}`, { cause: error });
    }
    const privateKey = `${dir}/client_key`;
    const sshOptions = { UserKnownHostsFile: knownHostsFile };
    return {
      hosts,
      port,
      user: TEST_USER,
      home,
      privateKey,
      knownHostsFile,
      sshOptions,
      pid: child.pid,
      remoteConfig: (overrides = {}) => ({
        type: "remote",
        hosts,
        instances: 1,
        username: TEST_USER,
        privateKey,
        port,
        sshOptions,
        ...overrides,
      }),
      log: () => logLines.join("\n"),
      async [Symbol.asyncDispose]() {
        await stop();
        await Deno.remove(dir, { recursive: true });
      },
    };
  } catch (error) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
}
