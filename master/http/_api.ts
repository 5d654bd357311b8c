/**
 * The dashboard's JSON API: what each path reads, and the actions (POST
 * only), each mapped to a launcher call as the control socket does.
 *
 * @module
 */

import type { InstanceInfo } from "../events.ts";
import { MAX_INSTANCES } from "../config.ts";

/** What the dashboard controls: the launcher's public API (a `Launcher` fits). */
export interface DashboardTarget {
  /** A snapshot of every instance. */
  list(): InstanceInfo[];
  /** Names of the groups. */
  groupNames(): string[];
  /** Stops a group's instances and keeps them stopped. */
  suspendGroup(name: string, options?: { force?: boolean }): Promise<void>;
  /** Starts a suspended group again. */
  resumeGroup(name: string): void;
  /** Runs `instancesPerHost` instances per host of a group. */
  scaleGroup(name: string, instancesPerHost: number): Promise<void>;
  /** Rolling restart of a group. */
  restartGroup(name: string, options?: { aliveTimeout?: number }): Promise<void>;
  /** Restarts one instance, when the launcher can. */
  restartInstance?(id: number): Promise<void>;
  /** Stops the master. */
  stop(): Promise<void>;
}

/** One group's summary, as `GET /api/groups` returns it. */
export interface GroupSummary {
  /** Group name. */
  name: string;
  /** Instances of the group. */
  instances: number;
  /** Instances per state. */
  states: Record<string, number>;
  /** Sum of the measured CPU percentages. */
  cpu: number;
  /** Sum of the measured resident memory, in bytes. */
  rss: number;
}

/** Sums instances per group, in the order of `names`. */
export function groupSummaries(names: string[], infos: readonly InstanceInfo[]): GroupSummary[] {
  const by = new Map<string, GroupSummary>(
    names.map((name) => [name, { name, instances: 0, states: {}, cpu: 0, rss: 0 }]),
  );
  for (const i of infos) {
    const g = by.get(i.group);
    if (g === undefined) continue;
    g.instances++;
    g.states[i.state] = (g.states[i.state] ?? 0) + 1;
    g.cpu = Math.round((g.cpu + (i.cpu ?? 0)) * 10) / 10;
    g.rss += i.rss ?? 0;
  }
  return [...by.values()];
}

/** An action's outcome: an HTTP status and a JSON body. */
export type ActionResult = { status: number; body: Record<string, unknown> };

const ok = (message: string, status = 200): ActionResult => ({
  status,
  body: { ok: true, message },
});
const fail = (status: number, error: string): ActionResult => ({
  status,
  body: { ok: false, error },
});

/**
 * Runs the action of `POST path` (already authenticated and same-origin);
 * `body` is the parsed JSON body. Unknown paths give 404.
 */
export async function runAction(
  target: DashboardTarget,
  path: string,
  body: Record<string, unknown>,
): Promise<ActionResult> {
  const m = /^\/api\/groups\/([^/]+)\/(suspend|resume|restart|scale)$/.exec(path);
  if (m !== null) {
    const name = decode(m[1]!);
    if (name === undefined) return fail(400, "the group name is not valid percent-encoding");
    if (!target.groupNames().includes(name)) {
      return fail(404, `no group named ${JSON.stringify(name)}`);
    }
    return await guarded(() => group(target, name, m[2]!, body));
  }
  const i = /^\/api\/instances\/(\d{1,9})\/restart$/.exec(path);
  if (i !== null) {
    const id = Number(i[1]);
    if (!target.list().some((x) => x.id === id)) return fail(404, `no instance with id ${id}`);
    const restart = target.restartInstance?.bind(target);
    if (restart === undefined) {
      return fail(501, "this launcher cannot restart one instance; restart its group");
    }
    return await guarded(async () => {
      await restart(id);
      return ok(`restarted instance ${id}`);
    });
  }
  if (path === "/api/stop") {
    // answer first: the server closes with the master
    setTimeout(() => void target.stop().catch(() => {}), 0);
    return ok("stopping the master", 202);
  }
  return fail(404, "no such action");
}

async function group(
  target: DashboardTarget,
  name: string,
  action: string,
  body: Record<string, unknown>,
): Promise<ActionResult> {
  const what = `group ${JSON.stringify(name)}`;
  switch (action) {
    case "suspend":
      await target.suspendGroup(name, { force: body.force === true });
      return ok(`suspended ${what}`);
    case "resume":
      target.resumeGroup(name);
      return ok(`resumed ${what}`);
    case "restart":
      await target.restartGroup(name);
      return ok(`restarted ${what}`);
    default: {
      const n = body.instances;
      if (typeof n !== "number" || !Number.isInteger(n) || n < 0 || n > MAX_INSTANCES) {
        return fail(
          400,
          `"instances" must be an integer from 0 to ${MAX_INSTANCES} (0 stops every instance ` +
            `of the group): got ${String(n)}`,
        );
      }
      await target.scaleGroup(name, n);
      return ok(`scaled ${what} to ${n} per host`);
    }
  }
}

async function guarded(run: () => Promise<ActionResult>): Promise<ActionResult> {
  try {
    return await run();
  } catch (e) {
    return fail(409, e instanceof Error ? e.message : String(e));
  }
}

function decode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
