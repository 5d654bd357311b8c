/**
 * `GET /metrics`: the Prometheus text exposition format (version 0.0.4).
 * One series per instance and metric, labelled `group`, `host` and
 * `instance` (the instance id, not the pid, so restarts add no series).
 *
 * @module
 */

import type { InstanceInfo } from "../events.ts";
import { auxv } from "../../_shared/proc.ts";

/** The content type of the text format. */
export const METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Sample = [labels: Record<string, string>, value: number];

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

function family(name: string, type: string, help: string, samples: Sample[]): string {
  let out = `# HELP ${name} ${help}\n# TYPE ${name} ${type}\n`;
  for (const [labels, value] of samples) {
    const l = Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
    out += `${name}${l === "" ? "" : `{${l}}`} ${formatValue(value)}\n`;
  }
  return out;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

const RUNNING = new Set(["running", "starting", "stopping"]);
const SYSTEM = auxv();

/**
 * The exposition text for `instances` (with `cpu`/`rss` when measured), the
 * log record counts, and the master's own process metrics.
 */
export function metricsText(
  instances: readonly InstanceInfo[],
  logCounts: readonly { group: string; level: string; n: number }[],
): string {
  const per = (pick: (i: InstanceInfo) => number | undefined): Sample[] => {
    const out: Sample[] = [];
    for (const i of instances) {
      const v = pick(i);
      if (v !== undefined) out.push([{ group: i.group, host: i.host, instance: String(i.id) }, v]);
    }
    return out;
  };
  const hosts = new Map<string, number>();
  for (const i of instances) {
    hosts.set(i.host, Math.max(hosts.get(i.host) ?? 0, RUNNING.has(i.state) ? 1 : 0));
  }
  const up = (i: InstanceInfo) => i.state === "running" ? 1 : 0;
  const ready = (i: InstanceInfo) => {
    const r = (i as { ready?: boolean }).ready;
    if (r !== undefined) return r ? 1 : 0;
    // until instances report readiness: running and printed or pinged since it started
    return i.state === "running" && (i.lastSeen ?? 0) > (i.startedAt ?? Infinity) ? 1 : 0;
  };
  const live = (i: InstanceInfo) => RUNNING.has(i.state);
  return [
    family("distarch_instance_up", "gauge", "1 when the instance is running, else 0.", per(up)),
    family(
      "distarch_instance_ready",
      "gauge",
      "1 when the instance is ready (running and has printed or pinged), else 0.",
      per(ready),
    ),
    family(
      "distarch_instance_restarts_total",
      "counter",
      "Times the instance was started again.",
      per((i) => i.restarts),
    ),
    family(
      "distarch_instance_start_time_seconds",
      "gauge",
      "Start of the instance's current run, in seconds since the epoch.",
      per((i) => live(i) && i.startedAt !== undefined ? i.startedAt / 1000 : undefined),
    ),
    family(
      "distarch_instance_cpu_seconds_total",
      "counter",
      "CPU seconds (user + system) of the instance's process group in its current run.",
      per((i) => live(i) ? i.cpuSeconds : undefined),
    ),
    family(
      "distarch_instance_resident_memory_bytes",
      "gauge",
      "Resident memory of the instance's process group, in bytes.",
      per((i) => live(i) ? i.rss : undefined),
    ),
    family(
      "distarch_instance_last_seen_timestamp_seconds",
      "gauge",
      "When the instance last printed or pinged, in seconds since the epoch.",
      per((i) => i.lastSeen === undefined ? undefined : i.lastSeen / 1000),
    ),
    family(
      "distarch_host_up",
      "gauge",
      "1 when at least one instance runs on the host, else 0.",
      [...hosts].map(([host, v]) => [{ host }, v]),
    ),
    family(
      "distarch_log_records_total",
      "counter",
      "Log records relayed or written by the master (group is empty for its own).",
      logCounts.map((c) => [{ group: c.group, level: c.level }, c.n]),
    ),
    processMetrics(),
  ].join("");
}

/** The master's own `process_*` metrics, from `/proc/self`. */
function processMetrics(): string {
  const { clockTicks, pageSize } = SYSTEM;
  let out = "";
  try {
    const stat = Deno.readTextFileSync("/proc/self/stat");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cpu = (Number(f[11]) + Number(f[12])) / clockTicks;
    const uptime = Number(Deno.readTextFileSync("/proc/uptime").split(" ")[0]);
    const start = Date.now() / 1000 - uptime + Number(f[19]) / clockTicks;
    let fds = 0;
    for (const _ of Deno.readDirSync("/proc/self/fd")) fds++;
    out += family("process_cpu_seconds_total", "counter", "CPU seconds of the master.", [[
      {},
      cpu,
    ]]);
    out += family("process_resident_memory_bytes", "gauge", "Resident memory of the master.", [[
      {},
      Number(f[21]) * pageSize,
    ]]);
    out += family("process_virtual_memory_bytes", "gauge", "Virtual memory of the master.", [[
      {},
      Number(f[20]),
    ]]);
    out += family(
      "process_start_time_seconds",
      "gauge",
      "Start of the master, in seconds since the epoch.",
      [[{}, Math.round(start * 100) / 100]],
    );
    out += family("process_open_fds", "gauge", "Open file descriptors of the master.", [[{}, fds]]);
  } catch {
    // no procfs: leave the process metrics out
  }
  const heap = Deno.memoryUsage();
  out += family("distarch_master_heap_used_bytes", "gauge", "JavaScript heap in use.", [[
    {},
    heap.heapUsed,
  ]]);
  return out;
}
