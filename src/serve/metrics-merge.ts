/**
 * One /metrics for `serve --workers N`: each worker counts what it served, and the worker asked merges
 * every worker's exposition text. Counters and histograms add up; gauges follow `GAUGES` (in-flight
 * requests add up, delays and open circuits take the worst); the routed share is recomputed from the
 * merged per-model counts, since shares of different totals cannot be added.
 */

const GAUGES: Record<string, "sum" | "max"> = {
  fusionkit_in_flight_requests: "sum",
  fusionkit_circuit_open: "max",
  fusionkit_event_loop_delay_seconds: "max",
};
const SHARE = "fusionkit_routed_share";
const ROUTED = "fusionkit_routed_requests_total";

interface Family {
  help: string;
  type: string;
  samples: Map<string, number>;
}

/** Series name of a sample line: `name{labels}`, minus a histogram's _bucket/_sum/_count suffix. */
function familyOf(series: string, families: Map<string, Family>): string {
  const name = series.includes("{") ? series.slice(0, series.indexOf("{")) : series;
  if (families.has(name)) return name;
  return name.replace(/_(bucket|sum|count)$/, "");
}

export function mergeMetrics(texts: string[]): string {
  const families = new Map<string, Family>();
  for (const text of texts) {
    let current: Family | null = null;
    for (const line of text.split("\n")) {
      if (!line) continue;
      const meta = /^# (HELP|TYPE) (\S+) (.*)$/.exec(line);
      if (meta) {
        const [, kind, name, rest] = meta;
        current = families.get(name) ?? { help: "", type: "untyped", samples: new Map() };
        families.set(name, current);
        if (kind === "HELP") current.help = rest;
        else current.type = rest;
        continue;
      }
      const cut = line.lastIndexOf(" ");
      const series = line.slice(0, cut);
      const value = Number(line.slice(cut + 1));
      const fam = families.get(familyOf(series, families)) ?? current;
      if (!fam) continue;
      const prev = fam.samples.get(series);
      const name = familyOf(series, families);
      const how = fam.type === "gauge" ? (GAUGES[name] ?? "max") : "sum";
      fam.samples.set(series, prev === undefined ? value : how === "sum" ? prev + value : Math.max(prev, value));
    }
  }
  const share = families.get(SHARE);
  const routed = families.get(ROUTED);
  if (share && routed) {
    share.samples.clear();
    const byModel = new Map<string, number>();
    let total = 0;
    for (const [series, v] of routed.samples) {
      const model = /model="((?:[^"\\]|\\.)*)"/.exec(series)?.[1] ?? "";
      byModel.set(model, (byModel.get(model) ?? 0) + v);
      total += v;
    }
    for (const [model, v] of byModel) share.samples.set(`${SHARE}{model="${model}"}`, total ? v / total : 0);
  }
  const out: string[] = [];
  for (const [name, f] of families) {
    out.push(`# HELP ${name} ${f.help}`, `# TYPE ${name} ${f.type}`);
    for (const [series, v] of f.samples) out.push(`${series} ${v}`);
  }
  return `${out.join("\n")}\n`;
}
