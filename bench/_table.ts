/**
 * One benchmark result row and the markdown table it is printed in.
 *
 * @module
 */

/** One measured figure of distarch next to its baseline, measured in the same run. */
export interface Row {
  /** What was measured, e.g. `launch N=50`. */
  name: string;
  /** distarch's figure. */
  distarch: number;
  /** The baseline's figure. */
  baseline: number;
  /** Unit of both figures, e.g. `ms` or `lines/s`. */
  unit: string;
  /** The goal, as text, e.g. `≤ 1.5× baseline`. */
  goal: string;
  /** Whether distarch meets the goal. */
  met: boolean;
  /** A short note, e.g. the baseline's nature. @default {""} */
  note?: string;
}

/** Formats a number with thousands separators and at most `digits` decimals. */
export function num(value: number, digits = 0): string {
  return value.toLocaleString("en-US", { maximumFractionDigits: digits });
}

/** `distarch ÷ baseline`, as `1.23×`. */
export function ratio(row: Row): string {
  if (row.baseline === 0) return "n/a";
  return `${(row.distarch / row.baseline).toFixed(2)}×`;
}

/** Renders rows as one markdown table under a `### title`. */
export function table(title: string, rows: readonly Row[]): string {
  const head = "| case | distarch | baseline | distarch ÷ baseline | goal | met | note |";
  const rule = "|---|--:|--:|--:|---|:-:|---|";
  const body = rows.map((r) => {
    const digits = r.unit === "ms" ? 0 : r.unit.startsWith("KB") ? 1 : 0;
    return `| ${r.name} | ${num(r.distarch, digits)} ${r.unit} | ${
      num(r.baseline, digits)
    } ${r.unit} | ` +
      `${ratio(r)} | ${r.goal} | ${r.met ? "yes" : "**no**"} | ${r.note ?? ""} |`;
  });
  return [`### ${title}`, "", head, rule, ...body, ""].join("\n");
}
