/**
 * Short human formats shared by `ps` and the live view.
 *
 * @module
 */

/**
 * Formats milliseconds as `1h02m03s`, `2m03s` or `3s`.
 *
 * @example
 * ```ts
 * import { duration } from "./_format.ts";
 * duration(123_000); // "2m03s"
 * ```
 */
export function duration(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const pad = (n: number) => String(n).padStart(2, "0");
  if (h > 0) return `${h}h${pad(m)}m${pad(sec)}s`;
  if (m > 0) return `${m}m${pad(sec)}s`;
  return `${sec}s`;
}

const UNITS = ["B", "KiB", "MiB", "GiB", "TiB"];

/**
 * Formats a byte count in binary units, as `pm2 ls` does: `512 B`, `48.5 MiB`;
 * `-` when unknown.
 *
 * @example
 * ```ts
 * import { bytes } from "./_format.ts";
 * bytes(50_855_936); // "48.5 MiB"
 * ```
 */
export function bytes(n: number | undefined): string {
  if (n === undefined || !Number.isFinite(n) || n < 0) return "-";
  let unit = 0;
  while (n >= 1024 && unit < UNITS.length - 1) {
    n /= 1024;
    unit++;
  }
  return unit === 0 ? `${n} B` : `${n.toFixed(1)} ${UNITS[unit]}`;
}

/**
 * Formats a CPU share of one core in percent: `12.5%`; `-` when unknown.
 *
 * @example
 * ```ts
 * import { percent } from "./_format.ts";
 * percent(12.46); // "12.5%"
 * ```
 */
export function percent(p: number | undefined): string {
  return p === undefined || !Number.isFinite(p) ? "-" : `${p.toFixed(1)}%`;
}
