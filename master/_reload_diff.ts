/**
 * What a reload changes: old validated groups + new ones → per group name,
 * added, removed, changed, scaled or unchanged, and per slot (a process
 * config on one host) how many instances run before and after and whether
 * what they see or run with differs. Pure; the launcher applies it.
 *
 * Process configs are matched by their position in the group, hosts by name:
 * a host added to or removed from a remote process config is a slot added or
 * removed, which starts or stops that host's instances only.
 *
 * @module
 */

import type { GroupConfig, ProcessConfig } from "./types.ts";

/**
 * The settings that make a slot's instances "changed" when they differ: what
 * an instance sees or runs with (its context, argv, environment, directory,
 * nice value, permissions, silence timeout, and for a remote host how it is
 * reached). `instances` and `hosts` only scale; `waitReady`, `readyTimeout`
 * and `dependsOn` are supervision settings, applied without a restart.
 */
export const INSTANCE_FIELDS = [
  "type",
  "command",
  "params",
  "env",
  "binPath",
  "path",
  "priority",
  "permissions",
  "timeout",
  "username",
  "privateKey",
  "port",
  "sshOptions",
] as const;

/** Group settings that change supervision, not the instances: applied in place. */
export const SUPERVISION_FIELDS = ["waitReady", "readyTimeout", "dependsOn"] as const;

/** One process config on one host, before and after. */
export interface SlotDiff {
  /** `processIndex/host`: how slots are matched across a reload. */
  key: string;
  /** Index of the process config in its group. */
  processIndex: number;
  /** The host (`localhost` for a local process config). */
  host: string;
  /** Instances before (0 when the slot is new). */
  from: number;
  /** Instances after (0 when the slot is gone). */
  to: number;
  /** True when the slot exists on both sides and what its instances see or run with differs. */
  changed: boolean;
}

/** What a reload does to one group. */
export interface GroupDiff {
  /** The group's name. */
  group: string;
  /**
   * `added`/`removed`: the group is only in the new/old config; `changed`:
   * some instances are replaced; `scaled`: only counts (or hosts) differ;
   * `unchanged`: nothing an instance sees differs (supervision settings may).
   */
  kind: "added" | "removed" | "changed" | "scaled" | "unchanged";
  /** The instance fields that differ (from {@linkcode INSTANCE_FIELDS}), for `changed`. */
  fields: string[];
  /** The supervision settings that differ (from {@linkcode SUPERVISION_FIELDS}). */
  settings: string[];
  /** Every slot of the old and the new config of the group. */
  slots: SlotDiff[];
}

type Fingerprint = Record<(typeof INSTANCE_FIELDS)[number], string>;

/** JSON with object keys sorted, so `{A, B}` and `{B, A}` compare equal. */
function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  if (typeof v === "object" && v !== null) {
    const keys = Object.keys(v).sort();
    const o = v as Record<string, unknown>;
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
  }
  return JSON.stringify(v) ?? "undefined";
}

/** What the instances of process config `p` of `g` see or run with, field by field. */
function fingerprint(g: GroupConfig, p: ProcessConfig): Fingerprint {
  const remote = p.type === "remote" ? p : undefined;
  const env = { ...g.env, ...p.env };
  return {
    type: canonical(p.type),
    command: canonical(g.command),
    params: canonical(g.params ?? {}),
    env: canonical(Object.keys(env).length === 0 ? undefined : env),
    binPath: canonical(p.binPath ?? g.binPath),
    path: canonical(p.path ?? g.path),
    priority: canonical(p.priority ?? g.priority),
    permissions: canonical(p.permissions ?? g.permissions ?? []),
    timeout: canonical(p.timeout ?? g.timeout),
    username: canonical(remote?.username),
    privateKey: canonical(remote?.privateKey),
    port: canonical(remote?.port),
    sshOptions: canonical(remote?.sshOptions),
  };
}

interface Slot {
  key: string;
  processIndex: number;
  host: string;
  instances: number;
  print: Fingerprint;
}

function slotsOf(g: GroupConfig): Map<string, Slot> {
  const out = new Map<string, Slot>();
  g.processes.forEach((p, processIndex) => {
    const print = fingerprint(g, p);
    for (const host of p.type === "local" ? ["localhost"] : p.hosts) {
      const key = `${processIndex}/${host}`;
      out.set(key, { key, processIndex, host, instances: p.instances, print });
    }
  });
  return out;
}

function slotDiffs(before: Map<string, Slot>, after: Map<string, Slot>): {
  slots: SlotDiff[];
  fields: Set<string>;
} {
  const fields = new Set<string>();
  const slots: SlotDiff[] = [];
  const keys = [...after.keys(), ...[...before.keys()].filter((k) => !after.has(k))];
  for (const key of keys) {
    const a = before.get(key), b = after.get(key);
    const s = (b ?? a)!;
    let changed = false;
    if (a !== undefined && b !== undefined) {
      for (const f of INSTANCE_FIELDS) {
        if (a.print[f] === b.print[f]) continue;
        changed = true;
        fields.add(f);
      }
    }
    slots.push({
      key,
      processIndex: s.processIndex,
      host: s.host,
      from: a?.instances ?? 0,
      to: b?.instances ?? 0,
      changed,
    });
  }
  return { slots, fields };
}

/**
 * Compares two validated configs by group name. Groups come in the new
 * config's order, removed ones after them in their old order.
 *
 * @example
 * ```ts
 * import { diffGroups } from "./_reload_diff.ts";
 * const g = { name: "g", command: "w.sh", processes: [{ type: "local" as const, instances: 2 }] };
 * const [d] = diffGroups([g], [{ ...g, env: { MODE: "fast" } }]);
 * // d.kind === "changed", d.fields → ["env"], d.slots[0] → { key: "0/localhost", from: 2, to: 2, changed: true, … }
 * ```
 */
export function diffGroups(
  before: readonly GroupConfig[],
  after: readonly GroupConfig[],
): GroupDiff[] {
  const old = new Map(before.map((g) => [g.name, g]));
  const next = new Set(after.map((g) => g.name));
  const out: GroupDiff[] = [];
  for (const g of after) {
    const o = old.get(g.name);
    if (o === undefined) {
      const { slots } = slotDiffs(new Map(), slotsOf(g));
      out.push({ group: g.name, kind: "added", fields: [], settings: [], slots });
      continue;
    }
    const { slots, fields } = slotDiffs(slotsOf(o), slotsOf(g));
    const settings = SUPERVISION_FIELDS.filter((f) =>
      canonical(o[f] ?? (f === "dependsOn" ? [] : undefined)) !==
        canonical(g[f] ?? (f === "dependsOn" ? [] : undefined))
    );
    const kind = slots.some((s) => s.changed)
      ? "changed"
      : slots.some((s) => s.from !== s.to)
      ? "scaled"
      : "unchanged";
    out.push({ group: g.name, kind, fields: [...fields], settings, slots });
  }
  for (const g of before) {
    if (next.has(g.name)) continue;
    const { slots } = slotDiffs(slotsOf(g), new Map());
    out.push({ group: g.name, kind: "removed", fields: [], settings: [], slots });
  }
  return out;
}
