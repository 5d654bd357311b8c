/**
 * The launcher options (`LaunchOptions`), which are also the top-level keys of
 * a config file: their field table, and their rule across fields.
 *
 * @module
 */

import {
  _bool,
  _doc,
  _int,
  _Issues,
  _num,
  _object,
  _objectSchema,
  _oneOf,
  _str,
  type ConfigPath,
  type Field,
  type Fields,
} from "./_checks.ts";

/** The launcher options (`LaunchOptions`), also the top-level keys of a config file. */
export const _LAUNCH: Fields = {
  timeout: _doc(
    _num(0),
    "Default seconds of silence before an instance counts as hung; 0 disables.",
  ),
  maxProcessTimeouts: _doc(_int(0), "Consecutive hangs after which an instance is stopped."),
  maxRunningTime: _doc(_num(0), "Seconds after which everything is stopped; 0 = no limit."),
  restart: _doc(
    _oneOf(["on-failure", "always", "never"]),
    "When an instance that ended is started again.",
  ),
  maxRestarts: _doc(
    _int(0),
    "Restarts after failed runs in a row; the next failure gives the instance up.",
  ),
  gracePeriod: _doc(_num(0), "Seconds between SIGTERM and SIGKILL when stopping."),
  backoffInitial: _doc(
    _num(
      0,
      true,
      "must be a number > 0: it is the first restart delay in seconds, " +
        "and 0 would restart a failing instance in a tight loop",
    ),
    "First restart delay in seconds (> 0); doubles each failure.",
  ),
  backoffMax: _doc(_num(0), "Longest restart delay in seconds (≥ backoffInitial)."),
  backoffReset: _doc(_num(0), "Seconds an instance must stay up for its failure count to reset."),
  checkInterval: _doc(_num(0, true), "Seconds between two check ticks."),
  sshLease: _doc(
    _num(0, true),
    "Seconds without a sign of life after which an SSH link counts as lost.",
  ),
  adoptWindow: _doc(
    _num(0),
    "Seconds an agent keeps its instances once their master is gone (a lost SSH session, or the master itself with a state directory), for a master to re-attach or adopt them.",
  ),
  service: _doc(_bool, "Start with every group suspended."),
  maxLineBytes: _doc(
    _int(1024),
    "Longest line relayed as one record (bytes, ≥ 1024); a longer one becomes consecutive parts.",
  ),
};

/** The `http:` section of a config file: the dashboard (master/http/). */
const _HTTP_FIELDS: Fields = {
  listen: _doc(
    _str(
      "must be a non-empty string",
      "^((\\[[0-9A-Fa-f:.]+\\]|[A-Za-z0-9.-]+):)?[0-9]{1,5}$",
      'must be [HOST:]PORT, e.g. "127.0.0.1:7700" or "7700" (loopback)',
    ),
    "[HOST:]PORT the dashboard listens on; a bare port binds to 127.0.0.1.",
  ),
  token: _doc(
    _str(
      "must be a non-empty string",
      "^[A-Za-z0-9._~-]{16,}$",
      "must be at least 16 characters of A-Z a-z 0-9 . _ ~ -",
    ),
    "Bearer token (default: $DISTARCH_HTTP_TOKEN, else a random one).",
  ),
};
const _http: Field = {
  check: (v, path, issues) => _object(v, path, issues, _HTTP_FIELDS, ["listen"]),
  schema: _objectSchema(_HTTP_FIELDS, ["listen"]),
};

/** The keys of a whole config file: `$schema`, `groups` (checked by `groups`), the launcher options, `http`. */
export function _fileFields(groups: Field): Fields {
  return {
    $schema: _doc(_str(), "Editor hint; ignored."),
    groups,
    ..._LAUNCH,
    http: _doc(_http, "The web dashboard and /metrics (off when absent)."),
  };
}

/** The launcher options at `root`, and their rule across fields: backoffMax ≥ backoffInitial. */
export function _launch(
  v: unknown,
  root: ConfigPath,
  issues: _Issues,
  fields: Fields = _LAUNCH,
  required: string[] = [],
): Record<string, unknown> | undefined {
  const out = _object(v, root, issues, fields, required);
  const { backoffInitial: lo, backoffMax: hi } = out ?? {};
  if (typeof lo === "number" && typeof hi === "number" && hi < lo) {
    issues.fail([...root, "backoffMax"], `must be ≥ backoffInitial (${lo})`, hi);
  }
  return out;
}
