/**
 * The benchmark report: one row per figure, the gateway's value beside the baseline's (the
 * direct official SDK on the same emulator) and their ratio, printed as a fixed-width table.
 */

/** One figure of one scenario. */
export interface ReportRow {
  /** What was run, e.g. "participant read, 40 sequential". Repeated only when it changes. */
  scenario: string;
  /** What is measured and its unit, e.g. "p50 ms", "upstream GETs". */
  metric: string;
  /** The gateway's value. */
  gateway: number;
  /** The baseline's value (direct SDK); `undefined` when the figure has no baseline. */
  baseline?: number;
  /** Decimals to print (default 0). */
  decimals?: number;
}

/** `gateway ÷ baseline`, or `undefined` when there is no meaningful ratio. */
export function ratio(row: ReportRow): number | undefined {
  if (row.baseline === undefined || !Number.isFinite(row.baseline) || row.baseline === 0 || !Number.isFinite(row.gateway)) return undefined;
  return row.gateway / row.baseline;
}

function formatNumber(value: number | undefined, decimals: number): string {
  if (value === undefined) return "–";
  if (!Number.isFinite(value)) return "n/a";
  return value.toFixed(decimals);
}

/** Renders `rows` as a table with columns scenario, metric, gateway, SDK direct, gateway ÷ SDK. */
export function formatReport(rows: readonly ReportRow[]): string {
  const header = ["scenario", "metric", "gateway", "SDK direct", "gateway ÷ SDK"];
  const cells = rows.map((row, i) => {
    const r = ratio(row);
    return [
      i > 0 && rows[i - 1]!.scenario === row.scenario ? "" : row.scenario,
      row.metric,
      formatNumber(row.gateway, row.decimals ?? 0),
      formatNumber(row.baseline, row.decimals ?? 0),
      r === undefined ? "–" : `${r.toFixed(2)}×`,
    ];
  });
  const widths = header.map((h, c) => Math.max(h.length, ...cells.map((line) => line[c]!.length)));
  const line = (values: string[]) => values.map((v, c) => (c < 2 ? v.padEnd(widths[c]!) : v.padStart(widths[c]!))).join("  ").trimEnd();
  return [line(header), widths.map((w) => "-".repeat(w)).join("  "), ...cells.map(line)].join("\n");
}
