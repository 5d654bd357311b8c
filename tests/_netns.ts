/**
 * Test fixture: a network namespace of our own, joined to the root namespace
 * by a veth pair with link-local addresses (169.254.x.y/30), so that a test
 * can cut a host's network silently (`cut()`: the root end goes down) and
 * bring it back (`restore()`). Only addresses inside this pair are used.
 *
 * Needs root and `ip` (iproute2). Dispose it to delete the namespace and the
 * pair, which happens even when the test failed.
 *
 * @module
 */

/** A namespace and its link. */
export interface Netns {
  /** The namespace's name, for `ip netns exec`. */
  name: string;
  /** The address of the root namespace's end. */
  outside: string;
  /** The address of the namespace's end: the "remote host". */
  inside: string;
  /** Takes the link down: packets stop, nothing is told to either end. */
  cut(): Promise<void>;
  /** Brings the link back. */
  restore(): Promise<void>;
}

async function ip(...args: string[]): Promise<void> {
  const out = await new Deno.Command("ip", { args, stdout: "null", stderr: "piped" }).output();
  if (!out.success) {
    const why = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`ip ${args.join(" ")} failed with code ${out.code}: ${why}`);
  }
}

/** Why the fixture cannot run here, or undefined. */
export function netnsUnavailable(): string | undefined {
  if (Deno.uid() !== 0) return "network namespaces need root";
  try {
    Deno.statSync("/usr/sbin/ip");
  } catch {
    try {
      Deno.statSync("/sbin/ip");
    } catch {
      return "ip (iproute2) is missing";
    }
  }
  return undefined;
}

/** Creates a namespace with a veth link to it. */
export async function createNetns(): Promise<Netns & AsyncDisposable> {
  const id = Array.from(
    crypto.getRandomValues(new Uint8Array(3)),
    (b) => b.toString(16).padStart(2, "0"),
  )
    .join("");
  const name = `distarch-${id}`;
  const outer = `dtv${id}a`;
  const inner = `dtv${id}b`;
  const net = 1 + (crypto.getRandomValues(new Uint8Array(1))[0]! % 254);
  const sub = 4 * (crypto.getRandomValues(new Uint8Array(1))[0]! % 64);
  const outside = `169.254.${net}.${sub + 1}`;
  const inside = `169.254.${net}.${sub + 2}`;
  const dispose = async () => {
    await ip("link", "del", outer).catch(() => {}); // deletes both ends
    await ip("netns", "del", name).catch(() => {});
  };
  try {
    await ip("netns", "add", name);
    await ip("link", "add", outer, "type", "veth", "peer", "name", inner);
    await ip("link", "set", inner, "netns", name);
    await ip("addr", "add", `${outside}/30`, "dev", outer);
    await ip("link", "set", outer, "up");
    await ip("netns", "exec", name, "ip", "addr", "add", `${inside}/30`, "dev", inner);
    await ip("netns", "exec", name, "ip", "link", "set", inner, "up");
    await ip("netns", "exec", name, "ip", "link", "set", "lo", "up");
  } catch (error) {
    await dispose();
    throw error;
  }
  return {
    name,
    outside,
    inside,
    cut: () => ip("link", "set", outer, "down"),
    restore: () => ip("link", "set", outer, "up"),
    [Symbol.asyncDispose]: dispose,
  };
}
