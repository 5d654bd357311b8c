import assert from "node:assert/strict";
import parsePrometheus from "npm:parse-prometheus-text-format@1.1.1";
import { metricsText } from "../master/http/_metrics.ts";
import type { InstanceInfo } from "../master/events.ts";
import { dashboardRun } from "./_dashboard.ts";

interface Family {
  name: string;
  help: string;
  type: string;
  metrics: { value: string; labels?: Record<string, string> }[];
}

const INSTANCE_METRICS = [
  "distarch_instance_up",
  "distarch_instance_ready",
  "distarch_instance_restarts_total",
  "distarch_instance_start_time_seconds",
  "distarch_instance_cpu_seconds_total",
  "distarch_instance_resident_memory_bytes",
  "distarch_instance_last_seen_timestamp_seconds",
];

Deno.test("metrics: /metrics parses as the Prometheus text format, one series per instance and metric", async () => {
  await using run = dashboardRun({ web: 3, 'odd "name" \\ here': 1 });
  const list = await run.running(4);
  // wait for a sample of every instance
  const deadline = Date.now() + 10_000;
  while (
    (await (await run.get("/api/instances")).json()).some((i: InstanceInfo) => i.rss === undefined)
  ) {
    assert(Date.now() < deadline, "every instance sampled");
    await new Promise((r) => setTimeout(r, 100));
  }
  const res = await run.get("/metrics");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  const text = await res.text();
  const families: Family[] = parsePrometheus(text);
  const byName = new Map(families.map((f) => [f.name, f]));
  for (const name of INSTANCE_METRICS) {
    const f = byName.get(name);
    assert(f !== undefined, `${name} missing`);
    assert.equal(f.type, name.endsWith("_total") ? "COUNTER" : "GAUGE", name);
    const ids = f.metrics.map((m) => m.labels!.instance).sort();
    assert.deepEqual(ids, list.map((i) => String(i.id)).sort(), `${name}: one series per id`);
    for (const m of f.metrics) {
      const inst = list.find((i) => String(i.id) === m.labels!.instance)!;
      assert.equal(m.labels!.group, inst.group, "label value escaped and read back");
      assert.equal(m.labels!.host, "localhost");
      assert(Number.isFinite(Number(m.value)), `${name} ${m.value}`);
    }
  }
  const value = (name: string, id: number) =>
    Number(byName.get(name)!.metrics.find((m) => m.labels!.instance === String(id))!.value);
  for (const i of list) {
    assert.equal(value("distarch_instance_up", i.id), 1);
    assert(value("distarch_instance_resident_memory_bytes", i.id) > 10 * 2 ** 20);
    assert(value("distarch_instance_cpu_seconds_total", i.id) > 0);
    assert.equal(value("distarch_instance_start_time_seconds", i.id), i.startedAt! / 1000);
  }
  assert.deepEqual(byName.get("distarch_host_up")!.metrics, [
    { value: "1", labels: { host: "localhost" } },
  ]);
  const logs = byName.get("distarch_log_records_total")!;
  assert.equal(logs.type, "COUNTER");
  const webInfo = logs.metrics.find((m) => m.labels!.group === "web" && m.labels!.level === "info");
  assert(Number(webInfo!.value) >= 3, "the ready lines of web were counted");
  for (const name of ["process_cpu_seconds_total", "process_resident_memory_bytes"]) {
    assert(Number(byName.get(name)!.metrics[0]!.value) > 0, name);
  }
});

Deno.test("metrics: label values with quotes, backslashes and newlines are escaped", () => {
  const info: InstanceInfo = {
    id: 7,
    groupId: 1,
    groupCount: 1,
    group: 'a"b\\c\nd',
    host: "h",
    label: "x/7/1",
    state: "stopped",
    restarts: 2,
    runs: 3,
    ready: false,
  };
  const text = metricsText([info], [{ group: 'a"b\\c\nd', level: "info", n: 5 }]);
  assert.match(
    text,
    /distarch_instance_restarts_total\{group="a\\"b\\\\c\\nd",host="h",instance="7"\} 2\n/,
  );
  const families: Family[] = parsePrometheus(text);
  const restarts = families.find((f) => f.name === "distarch_instance_restarts_total")!;
  assert.equal(restarts.metrics[0]!.labels!.group, 'a"b\\c\nd');
  assert.equal(
    families.find((f) => f.name === "distarch_instance_up")!.metrics[0]!.value,
    "0",
  );
});
