/**
 * The dashboard from the command line: `run --http [HOST:]PORT` (or the
 * config's `http:` section) starts it with the master and writes its login
 * URL, 0600, next to the control socket; `distarch dashboard` prints that
 * URL for a running master.
 *
 * @module
 */

import type { Config } from "../../master/config.ts";
import { type Dashboard, serveDashboard } from "../../master/http/dashboard.ts";
import type { LogFeed } from "../../master/http/log_feed.ts";
import { Launcher, type LauncherOptions } from "../../master/launcher.ts";
import type { InstanceInfo } from "../../master/events.ts";
import { ResourceSampler } from "../../master/resources.ts";
import type { Logger } from "../../master/types.ts";
import { parseCommand, stringOption } from "../_args.ts";
import { CliError, EXIT } from "../_errors.ts";
import { socketPath } from "../socket_path.ts";

/**
 * The CLI's launcher: {@linkcode Launcher.list} carries each running
 * instance's `cpu`, `cpuSeconds` and `rss`, sampled every 2 s (local ones
 * from `/proc`, remote ones by their host's agent, through the
 * `instanceResources` events), so `ps --json`, the live view and the
 * dashboard share one sampler.
 */
export class MeasuredLauncher extends Launcher {
  /** The sampler (started with the launcher; its timer does not hold the process). */
  readonly sampler: ResourceSampler;

  /** A launcher with a started sampler (the `instanceResources` hook given is called too). */
  constructor(options: LauncherOptions = {}) {
    const { events = {} } = options;
    const holder: { sampler?: ResourceSampler } = {};
    super({
      ...options,
      events: {
        ...events,
        instanceResources: (e) => {
          holder.sampler?.report(e.id, e.pid, e);
          events.instanceResources?.(e);
        },
      },
    });
    this.sampler = holder.sampler = new ResourceSampler(() => super.list()).start();
  }

  /** A snapshot of every instance, with CPU and memory where measured. */
  override list(): InstanceInfo[] {
    return this.sampler.decorate(super.list());
  }
}

/** The environment variable a token may come from (after the config's `http.token`). */
export const TOKEN_ENV = "DISTARCH_HTTP_TOKEN";

/** Where a master with a dashboard writes its URL and token: beside its control socket. */
export function dashboardFile(socket: string): string {
  return `${socket}.http.json`;
}

/** What the dashboard file holds. */
interface DashboardFile {
  pid: number;
  url: string;
  loginUrl: string;
}

/** What {@linkcode startDashboard} needs. */
export interface StartDashboardInputs {
  /** The `--http` option, if given (it overrides the config's `http.listen`). */
  option: string | undefined;
  /** The config's `http:` section, if any. */
  config: Config["http"];
  /** The running launcher. */
  launcher: Launcher;
  /** The records the launcher logs. */
  feed: LogFeed;
  /** Where the login line goes. */
  logger: Logger;
  /** The control socket path (the file goes beside it). */
  socket: string;
  /** Environment lookup. @default {Deno.env.get} */
  env?: (name: string) => string | undefined;
}

/**
 * Starts the dashboard when `--http` or `http.listen` asks for one and
 * writes the dashboard file; returns `undefined` otherwise. Throws a
 * {@linkcode CliError} (exit 2) on a bad address or token, or a taken port.
 */
export function startDashboard(inputs: StartDashboardInputs): Dashboard | undefined {
  const { option, config, launcher, feed, logger, socket } = inputs;
  const { env = (n: string) => Deno.env.get(n) } = inputs;
  const listen = option ?? config?.listen;
  if (listen === undefined) return undefined;
  const token = config?.token ?? (env(TOKEN_ENV) || undefined);
  let dashboard: Dashboard;
  try {
    dashboard = serveDashboard(launcher, {
      listen,
      feed,
      logger,
      ...(launcher instanceof MeasuredLauncher ? { sampler: launcher.sampler } : {}),
      ...(token !== undefined ? { token } : {}),
    });
  } catch (e) {
    const why = e instanceof Deno.errors.AddrInUse
      ? `${listen} is in use`
      : e instanceof Error
      ? e.message
      : String(e);
    throw new CliError(`cannot start the dashboard: ${why}`, EXIT.usage, { cause: e });
  }
  const file = dashboardFile(socket);
  const body: DashboardFile = { pid: Deno.pid, url: dashboard.url, loginUrl: dashboard.loginUrl };
  try {
    Deno.removeSync(file); // never write through a link someone left there
  } catch { /* none */ }
  Deno.writeTextFileSync(file, JSON.stringify(body) + "\n", { mode: 0o600, createNew: true });
  const close = dashboard.close;
  const closeAndRemove = async () => {
    try {
      if ((JSON.parse(Deno.readTextFileSync(file)) as DashboardFile).pid === Deno.pid) {
        Deno.removeSync(file);
      }
    } catch { /* gone */ }
    await close();
  };
  return { ...dashboard, close: closeAndRemove, [Symbol.asyncDispose]: closeAndRemove };
}

/** `dashboard [--socket PATH] [--json]`: prints the login URL of the running master's dashboard. */
export function dashboardCommand(args: string[]): Promise<number> {
  const spec = { socket: { type: "string" }, json: { type: "boolean" } } as const;
  const { values } = parseCommand("dashboard", args, spec, 0);
  const socket = socketPath({ option: stringOption(values, "socket") });
  const file = dashboardFile(socket);
  let found: DashboardFile;
  try {
    found = JSON.parse(Deno.readTextFileSync(file));
  } catch (e) {
    const exists = (() => {
      try {
        return Deno.lstatSync(socket).isSocket;
      } catch {
        return false;
      }
    })();
    throw new CliError(
      exists
        ? `the master on ${socket} runs without a dashboard (start it with --http [HOST:]PORT)`
        : `no master runs on ${socket}`,
      EXIT.socket,
      { cause: e },
    );
  }
  if (!alive(found.pid)) {
    throw new CliError(`no master runs on ${socket} (pid ${found.pid} is gone)`, EXIT.socket);
  }
  console.log(values.json === true ? JSON.stringify(found) : found.loginUrl);
  return Promise.resolve(EXIT.ok);
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (e) {
    return !(e instanceof Deno.errors.NotFound) || !existsSync("/proc/self");
  }
}

function existsSync(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
