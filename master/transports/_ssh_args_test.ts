import { deepEqual as assertEquals, ok as assert, throws } from "node:assert/strict";
import {
  isAuthFailure,
  remoteCommand,
  remoteScript,
  shellQuote,
  sshArgs,
  weakensHostKeyChecking,
} from "./_ssh_args.ts";

const NASTY = [
  "",
  "plain",
  "two words",
  "$(touch /tmp/distarch-pwned-args)",
  "`touch /tmp/distarch-pwned-args`",
  "a; touch /tmp/distarch-pwned-args",
  "it's",
  "'''",
  '"double" \\"esc\\"',
  "line1\nline2\n",
  "tab\there",
  "$HOME ${HOME} ~ * ? [a] | & < > ! #",
  "-n",
  "ünïcødé ✓",
];

async function sh(command: string): Promise<string> {
  const out = await new Deno.Command("sh", { args: ["-c", command], stdout: "piped" }).output();
  assert(out.success, command);
  return new TextDecoder().decode(out.stdout);
}

Deno.test("shellQuote(): every word round-trips through a real sh exactly", async () => {
  for (const word of NASTY) {
    assertEquals(await sh(`printf %s ${shellQuote(word)}`), word);
  }
  assertEquals(await Deno.stat("/tmp/distarch-pwned-args").then(() => true, () => false), false);
});

Deno.test("shellQuote() rejects a NUL byte", () => {
  throws(() => shellQuote("a\0b"), /NUL/);
});

Deno.test("remoteCommand(): argv and env arrive intact through sh -c", async () => {
  const cmd = remoteCommand(["printf", "%s|", ...NASTY], { V: "$(x)'y'" });
  assertEquals(await sh(cmd), NASTY.join("|") + "|");
  assertEquals(
    await sh(remoteCommand(["sh", "-c", 'printf %s "$V"'], { V: "$(x)'y'" })),
    "$(x)'y'",
  );
  throws(() => remoteCommand([]), /empty/);
  throws(() => remoteCommand(["true"], { "A;B": "x" }), /invalid variable name/);
});

Deno.test("remoteScript(): positional args are not evaluated", async () => {
  const out = await sh(remoteScript('for a in "$@"; do printf "%s|" "$a"; done', NASTY));
  assertEquals(out, NASTY.join("|") + "|");
});

Deno.test("sshArgs(): batch mode, keepalives, multiplexing, identity, then -- host", () => {
  const args = sshArgs("example.org", {
    username: "bob",
    privateKey: "/k",
    port: 2222,
    sshOptions: { Compression: "yes", ControlMaster: "no" },
  }, { control: { path: "/tmp/d/1", role: "client" }, connectTimeout: 3 });
  assertEquals(args.slice(-2), ["--", "example.org"]);
  for (
    const o of [
      "BatchMode=yes",
      "ConnectTimeout=3",
      "ServerAliveInterval=5",
      "ServerAliveCountMax=3",
      "ControlMaster=no",
      "ControlPath=/tmp/d/1",
      "IdentitiesOnly=yes",
      "Compression=yes",
    ]
  ) assert(args.includes(o), o);
  assertEquals(args.filter((a) => a.startsWith("ControlMaster=")), ["ControlMaster=no"]);
  const master = sshArgs("h", {}, { control: { path: "/tmp/d/1", role: "master" } });
  for (const o of ["ControlMaster=yes", "ControlPersist=no"]) assert(master.includes(o), o);
  assert(args.includes("-T"));
  assertEquals(args.slice(args.indexOf("-p"), args.indexOf("-p") + 2), ["-p", "2222"]);
  assertEquals(args.slice(args.indexOf("-l"), args.indexOf("-l") + 2), ["-l", "bob"]);
  assertEquals(args.slice(args.indexOf("-i"), args.indexOf("-i") + 2), ["-i", "/k"]);
  assert(!args.some((a) => /StrictHostKeyChecking/.test(a)), "never relaxed by default");
});

Deno.test("sshArgs() refuses hosts and options that would be read as ssh flags", () => {
  throws(() => sshArgs("-oProxyCommand=x", {}), /Invalid SSH host/);
  throws(() => sshArgs("", {}), /Invalid SSH host/);
  throws(() => sshArgs("h", { sshOptions: { "A B": "x" } }), /Invalid SSH option name/);
  throws(() => sshArgs("h", { sshOptions: { A: "x\ny" } }), /line break/);
});

Deno.test("weakensHostKeyChecking() and isAuthFailure()", () => {
  assert(weakensHostKeyChecking("StrictHostKeyChecking", "no"));
  assert(weakensHostKeyChecking("stricthostkeychecking", "accept-new"));
  assert(weakensHostKeyChecking("UserKnownHostsFile", "/dev/null"));
  assert(!weakensHostKeyChecking("StrictHostKeyChecking", "yes"));
  assert(!weakensHostKeyChecking("UserKnownHostsFile", "/tmp/kh"));
  assert(isAuthFailure("u@h: Permission denied (publickey)."));
  assert(!isAuthFailure("ssh: connect to host h port 22: Connection refused"));
});

Deno.test("weakensHostKeyChecking() is true for every StrictHostKeyChecking but yes/ask", () => {
  const weak = ["no", "off", "accept-new", "false", "0", "NO", "nope", "", " yes no"];
  for (const v of weak) assert(weakensHostKeyChecking("StrictHostKeyChecking", v), v);
  for (const v of ["yes", "YES", "Ask", " yes "]) {
    assert(!weakensHostKeyChecking("StrictHostKeyChecking", v), v);
  }
});

Deno.test("weakensHostKeyChecking() is true when no real known-hosts file is left", () => {
  for (const v of ["/dev/null", "none", "NONE", " /dev/null  /dev/null "]) {
    assert(weakensHostKeyChecking("userKnownHostsFile", v), v);
  }
  for (const v of ["/tmp/kh", "~/.ssh/known_hosts /dev/null", "/dev/nullx"]) {
    assert(!weakensHostKeyChecking("UserKnownHostsFile", v), v);
  }
  assert(!weakensHostKeyChecking("ConnectTimeout", "no"));
});
