/**
 * The table `distarch ps` prints.
 *
 * @module
 */

import type { InstanceInfo } from "../master/events.ts";
import { escapeText } from "../master/log.ts";
import { bytes, duration, percent } from "./_format.ts";

const HEAD = [
  "GROUP",
  "HOST",
  "ID",
  "GROUPID",
  "PID",
  "STATE",
  "READY",
  "CPU",
  "MEM",
  "UPTIME",
  "RESTARTS",
  "LAST SEEN",
];

/**
 * Formats instances as an aligned text table (no trailing newline); `now`
 * is the master's clock, for uptime and last seen. Control characters in
 * names are escaped (`\x1b`).
 *
 * @example
 * ```ts
 * import { psTable } from "./ps_table.ts";
 * psTable([], 0); // "GROUP  HOST  ID  GROUPID  PID  STATE  READY  CPU  MEM  UPTIME  RESTARTS  LAST SEEN"
 * ```
 */
export function psTable(instances: readonly InstanceInfo[], now: number): string {
  const rows = instances.map((i) => {
    const live = i.state === "running" || i.state === "starting" || i.state === "stopping";
    return [
      escapeText(i.group),
      escapeText(i.host),
      String(i.id),
      String(i.groupId),
      live && i.pid !== undefined ? String(i.pid) : "-",
      escapeText(i.state === "failed" && i.lastReason ? `failed (${i.lastReason})` : i.state),
      i.state === "running" || i.state === "stopping" ? (i.ready ? "yes" : "no") : "-",
      live ? percent(i.cpu) : "-",
      live ? bytes(i.rss) : "-",
      live && i.startedAt !== undefined ? duration(now - i.startedAt) : "-",
      String(i.restarts),
      i.lastSeen !== undefined ? `${duration(now - i.lastSeen)} ago` : "-",
    ];
  });
  const all = [HEAD, ...rows];
  const widths = HEAD.map((_, c) => Math.max(...all.map((r) => r[c]!.length)));
  return all.map((r) =>
    r.map((cell, c) => c === r.length - 1 ? cell : cell.padEnd(widths[c]!)).join("  ")
  )
    .join("\n");
}
