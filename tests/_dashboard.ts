/**
 * The fixture of the dashboard tests: a launcher running groups of
 * `d_worker.ts` with its dashboard on a free loopback port, disposed of with
 * `await using`, leaving no process behind.
 *
 * @module
 */

import { type Dashboard, serveDashboard } from "../master/http/dashboard.ts";
import { LogFeed, type LogFeedOptions } from "../master/http/log_feed.ts";
import { Launcher, type RunSummary } from "../master/launcher.ts";
import type { InstanceInfo } from "../master/events.ts";
import {
  assertNoneLeft,
  type Collector,
  collector,
  fixture,
  group,
  killMarked,
  marker,
  waitFor,
} from "./_helpers.ts";

/** A running launcher with its dashboard. */
export interface DashboardRun extends AsyncDisposable {
  /** The launcher. */
  launcher: Launcher;
  /** The dashboard. */
  dashboard: Dashboard;
  /** The feed the launcher logs into. */
  feed: LogFeed;
  /** Every record logged. */
  logs: Collector;
  /** What `run()` resolves to. */
  done: Promise<RunSummary>;
  /** `fetch` of a dashboard path with the bearer token. */
  get(path: string, init?: RequestInit): Promise<Response>;
  /** The instances once every one runs and has printed. */
  running(count: number): Promise<InstanceInfo[]>;
}

/** Starts `groups` (name → local instances) of `d_worker.ts` and serves their dashboard. */
export function dashboardRun(
  groups: Record<string, number>,
  options: { feed?: LogFeedOptions; sampleInterval?: number } = {},
): DashboardRun {
  const mark = marker();
  const logs = collector();
  const feed = new LogFeed(options.feed);
  const launcher = new Launcher({
    logger: feed.wrap(logs),
    handleSignals: false,
    gracePeriod: 3,
    timeout: 0,
  });
  const done = launcher.run(
    Object.entries(groups).map(([name, instances]) =>
      group(name, fixture("d_worker.ts"), mark, { instances })
    ),
  );
  const dashboard = serveDashboard(launcher, {
    feed,
    logger: logs,
    listen: "127.0.0.1:0",
    sampleInterval: options.sampleInterval ?? 0.5,
  });
  const run: DashboardRun = {
    launcher,
    dashboard,
    feed,
    logs,
    done,
    get: (path, init = {}) => {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${dashboard.token}`);
      return fetch(new URL(path, dashboard.url), { ...init, headers });
    },
    running: (count) =>
      waitFor(
        () => {
          const list = launcher.list();
          const ok = list.length === count && list.every((i) =>
            i.state === "running" &&
            logs.records.some((r) =>
              r.id === i.id && r.message === `ready ${i.id}` && r.time >= i.startedAt!
            )
          );
          return ok ? list : undefined;
        },
        30_000,
        `${count} running instances\n${logs.dump()}`,
      ),
    async [Symbol.asyncDispose]() {
      await dashboard.close();
      await launcher.stop();
      await done.catch(() => {});
      killMarked(mark);
      await assertNoneLeft(mark);
    },
  };
  return run;
}
