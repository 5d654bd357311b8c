/**
 * The report of a live reload ({@linkcode Launcher.apply}): what happened to
 * each group, computed from the difference between the running config and
 * the new one, and its one-line text (`beta: changed (rolling restart of 2)`).
 *
 * @module
 */

import type { GroupDiff } from "./_reload_diff.ts";
import type { LaunchOptions } from "./types.ts";

/** How a reload replaces the instances of a changed group. */
export type ReplaceMode = "rolling" | "all-at-once";

/** Options of {@linkcode Launcher.apply}. */
export interface ApplyOptions {
  /**
   * `rolling`: each changed instance's successor is started first, and the
   * old one is stopped once its successor is ready, one at a time;
   * `all-at-once`: every changed instance of a group is stopped, then its
   * successors started (for workers that cannot run beside their successor).
   * @default {"rolling"}
   */
  mode?: ReplaceMode;
  /**
   * Launcher options to use from now on (missing ones keep their current
   * value). `timeout`, `maxProcessTimeouts`, `restart`, `maxRestarts`,
   * `gracePeriod`, `backoffInitial`, `backoffMax`, `backoffReset` and
   * `maxLineBytes` apply from now on; `checkInterval`, `sshLease`,
   * `adoptWindow`, `service` and `maxRunningTime` cannot change while running: a different
   * value is reported in {@linkcode ApplyReport.ignored} and not applied.
   * @default {{}}
   */
  options?: LaunchOptions;
  /**
   * Directory the new groups' relative commands and paths are resolved
   * against, from now on. @default {the launcher's `cwd`}
   */
  cwd?: string;
}

/** What a reload did to one group. */
export interface GroupReport {
  /** The group's name. */
  group: string;
  /**
   * `added`, `removed`, `changed` (instances replaced), `scaled` (only
   * counts or hosts differ) or `unchanged` (its instances were not touched).
   */
  kind: "added" | "removed" | "changed" | "scaled" | "unchanged";
  /** Instances replaced by a successor (changed groups). */
  replaced: number;
  /** How they were replaced, for a changed group. */
  mode?: ReplaceMode;
  /** Instances started without a predecessor (added groups, more instances or hosts). */
  started: number;
  /** Instances stopped without a successor (removed groups, fewer instances or hosts). */
  stopped: number;
  /** What differs for the instances (`env`, `command`, `port`…), for a changed group. */
  fields: string[];
  /** Supervision settings applied in place (`waitReady`, `readyTimeout`, `dependsOn`). */
  settings: string[];
  /**
   * Why the replacement stopped before the end, when it did: the successor
   * that was not ready in time was stopped; its predecessor and the
   * instances after it still run the old config.
   */
  halted?: string;
}

/** What {@linkcode Launcher.apply} resolves with. */
export interface ApplyReport {
  /** One entry per group: the new config's order, then removed groups. */
  groups: GroupReport[];
  /** Launcher options that took effect from now on. */
  options: string[];
  /** Launcher options that differ but cannot change while running (kept as they were). */
  ignored: string[];
}

/** Launcher options a reload applies from then on. */
export const LIVE_OPTIONS = [
  "timeout",
  "maxProcessTimeouts",
  "restart",
  "maxRestarts",
  "gracePeriod",
  "backoffInitial",
  "backoffMax",
  "backoffReset",
  "maxLineBytes",
] as const satisfies readonly (keyof LaunchOptions)[];

/** Launcher options that cannot change while the launcher runs. */
export const FIXED_OPTIONS = [
  "checkInterval",
  "sshLease",
  "adoptWindow",
  "service",
  "maxRunningTime",
] as const satisfies readonly (keyof LaunchOptions)[];

/**
 * Which of the `given` options differ from the `current` ones: those a
 * reload applies, and those it cannot change while running.
 *
 * @example
 * ```ts
 * import { DEFAULTS } from "./defaults.ts";
 * import { optionChanges } from "./reload.ts";
 * optionChanges(DEFAULTS, { gracePeriod: 2, sshLease: 3, timeout: 30 });
 * // { applied: ["gracePeriod"], ignored: ["sshLease"] }
 * ```
 */
export function optionChanges(
  current: Readonly<Required<LaunchOptions>>,
  given: LaunchOptions,
): { applied: (typeof LIVE_OPTIONS)[number][]; ignored: (typeof FIXED_OPTIONS)[number][] } {
  const differs = (k: keyof LaunchOptions) => given[k] !== undefined && given[k] !== current[k];
  return { applied: LIVE_OPTIONS.filter(differs), ignored: FIXED_OPTIONS.filter(differs) };
}

/** The report of each group of `diffs`, before anything is applied. */
export function groupReports(diffs: readonly GroupDiff[], mode: ReplaceMode): GroupReport[] {
  return diffs.map((d) => {
    let replaced = 0, started = 0, stopped = 0;
    for (const s of d.slots) {
      if (s.changed) replaced += Math.min(s.from, s.to);
      started += Math.max(0, s.to - s.from);
      stopped += Math.max(0, s.from - s.to);
    }
    return {
      group: d.group,
      kind: d.kind,
      replaced,
      ...(d.kind === "changed" ? { mode } : {}),
      started,
      stopped,
      fields: d.fields,
      settings: d.settings,
    };
  });
}

/**
 * One line per group: `beta: changed (rolling restart of 2: env)`,
 * `gamma: removed`, `delta: added`, `alpha: scaled (+2, -1)`,
 * `omega: unchanged`; then the options, when any differed.
 *
 * @example
 * ```ts
 * import { reportLines } from "./reload.ts";
 * reportLines({
 *   groups: [{ group: "gamma", kind: "removed", replaced: 0, started: 0, stopped: 2, fields: [], settings: [] }],
 *   options: [],
 *   ignored: [],
 * }); // ["gamma: removed"]
 * ```
 */
export function reportLines(report: ApplyReport): string[] {
  const lines = report.groups.map((g) => {
    const notes: string[] = [];
    if (g.kind === "changed") {
      const what = g.mode === "all-at-once"
        ? `restart of ${g.replaced} at once`
        : `rolling restart of ${g.replaced}`;
      notes.push(g.fields.length > 0 ? `${what}: ${g.fields.join(", ")}` : what);
      if (g.halted !== undefined) notes.push(`HALTED: ${g.halted}`);
    }
    if ((g.kind === "changed" || g.kind === "scaled") && g.started > 0) notes.push(`+${g.started}`);
    if ((g.kind === "changed" || g.kind === "scaled") && g.stopped > 0) notes.push(`-${g.stopped}`);
    if (g.kind !== "added" && g.kind !== "removed" && g.settings.length > 0) {
      notes.push(`${g.settings.join(", ")} updated`);
    }
    return `${g.group}: ${g.kind}${notes.length > 0 ? ` (${notes.join(", ")})` : ""}`;
  });
  if (report.options.length > 0) lines.push(`options applied: ${report.options.join(", ")}`);
  if (report.ignored.length > 0) {
    lines.push(`options that cannot change while running, kept: ${report.ignored.join(", ")}`);
  }
  return lines;
}
