import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import * as Plot from "@observablehq/plot";
import type { Spread } from "../eval/cv.ts";
import type { EvalResult, RouterResult } from "../eval/evaluate.ts";
import { type LegendItem, PALETTE, renderSvg } from "./svg.ts";
import { formatTable } from "./text-table.ts";

/**
 * The evaluation as people read it: a terminal table, and a report folder with a Markdown summary
 * (overall, per scenario, per task) and SVG plots (cost–performance frontier, per-task bars, and for
 * two-model sets RouteLLM's strong-call curve).
 */

export function fmt(v: number | undefined, digits = 3): string {
  return v === undefined || Number.isNaN(v) ? "—" : v.toFixed(digits);
}

export function usd(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? "—" : `$${v.toExponential(2)}`;
}

function pct(v: number | undefined): string {
  return v === undefined || Number.isNaN(v) ? "—" : `${(100 * v).toFixed(1)}%`;
}

/** One row per (router, scenario), then the best single model and the oracle. */
export function formatEvalTable(r: EvalResult): string {
  const [header, ...rows] = formatRows(r, "terminal");
  return formatTable(header ?? [], rows);
}

/** The router shown in per-task plots: best performance under the first scenario (ties: cheaper). */
export function leadingRouter(r: EvalResult): RouterResult | undefined {
  const first = r.scenarios[0];
  return r.routers
    .filter((x) => x.scenario === first)
    .sort((a, b) => b.performance - a.performance || a.cost - b.cost)[0];
}

export interface ReportFiles {
  dir: string;
  markdown: string;
  plots: string[];
}

/** Write report.md and the SVG plots into `dir` (created if needed; each file replaced atomically). */
export function writeEvalReport(r: EvalResult, dir: string, title: string): ReportFiles {
  mkdirSync(dir, { recursive: true });
  const plots: Array<[string, string]> = [
    ["frontier.svg", frontierSvg(r, title)],
    ["per-task.svg", perTaskSvg(r, title)],
    ["cost-match.svg", costMatchSvg(r, title)],
  ];
  if (r.pair) plots.push(["strong-calls.svg", callCurveSvg(r, title)]);
  const markdown = evalMarkdown(
    r,
    title,
    plots.map(([f]) => f),
  );
  const write = (name: string, text: string) => {
    const path = join(dir, name);
    writeFileSync(`${path}.tmp`, text);
    renameSync(`${path}.tmp`, path);
    return path;
  };
  const plotPaths = plots.map(([name, svg]) => write(name, svg));
  return { dir, markdown: write("report.md", markdown), plots: plotPaths };
}

export function evalMarkdown(r: EvalResult, title: string, plotFiles: string[]): string {
  const out: string[] = [];
  const line = (s = "") => out.push(s);
  line(`# ${title}`);
  line();
  line(
    `Split **${r.split}**: ${r.queries} queries (routers trained on ${r.trainQueries}), ${r.candidates.length} candidates, ` +
      `${r.tasks.length} tasks. Best single model: **${r.bestSingle.model}** ${fmt(r.bestSingle.performance)} ` +
      `(${usd(r.bestSingle.cost)}/query); per-query oracle ${fmt(r.oracle.performance)} (${usd(r.oracle.cost)}/query).`,
  );
  line();
  line(
    "Performance and cost are means per test query; reward is FusionFactory's α·perf − β·cost with both min–max " +
      "normalised within each task; gap closed = (router − best single)/(oracle − best single); AIQ is RouterBench's " +
      `area under the non-decreasing convex hull of the router's λ sweep, over the shared cost range ${usd(r.costRange.min)}–${usd(r.costRange.max)}.` +
      (r.pair
        ? ` Two candidates: APGR and CPT are RouteLLM's, with ${r.pair.strong} as the strong model and ${r.pair.weak} as the weak one.`
        : ""),
  );
  if (r.cv)
    line(
      `\nColumns marked CV are ${r.cv.folds}-fold cross-validation on the train split (${r.cv.queries} queries, folds stratified by task, seed ${r.cv.seed}): ` +
        "mean ± standard deviation over folds, each router fitted on the other folds (anything it tunes is tuned there) and scored on the held fold. " +
        "The test split is scored once, by routers fitted on the whole train split.",
    );
  line();
  for (const f of plotFiles) line(`![${f}](${f})`);
  line();
  line("## Overall");
  line();
  line(mdTable(formatRows(r)));
  line();
  line("## Per scenario");
  for (const scenario of r.scenarios) {
    line();
    line(`### ${scenario}`);
    line();
    const rows = r.routers
      .filter((x) => x.scenario === scenario)
      .sort((a, b) => b.reward - a.reward)
      .map((x) => [
        x.name,
        fmt(x.reward),
        fmt(x.performance),
        usd(x.cost),
        x.beatsBestSingleOn.join(", ") || "—",
        x.losesOn.join(", ") || "—",
        Object.entries(x.usage)
          .sort((a, b) => b[1] - a[1])
          .slice(0, 3)
          .map(([k, v]) => `${k} ${pct(v)}`)
          .join(", "),
      ]);
    line(
      mdTable([["router", "reward", "perf", "cost/query", "beats best single on", "loses on", "most used"], ...rows]),
    );
  }
  out.push(...costMatchMarkdown(r));
  line();
  line("## Per task (performance)");
  line();
  const first = r.scenarios[0];
  const routers = r.routers.filter((x) => x.scenario === first);
  line(`Routers under ${first}; the best single model is ${r.bestSingle.model} overall.`);
  line();
  const taskRows = r.tasks.map((t) => [
    t,
    fmt(r.bestSingle.perTask[t]?.performance),
    fmt(r.oracle.perTask[t]?.performance),
    ...routers.map((x) => fmt(x.perTask[t]?.performance)),
  ]);
  line(mdTable([["task", "best single", "oracle", ...routers.map((x) => x.name)], ...taskRows]));
  line();
  line("## Single models on this split");
  line();
  line(
    mdTable([
      ["model", "perf", "cost/query"],
      ...[...r.singles]
        .sort((a, b) => b.performance - a.performance)
        .map((s) => [s.model, fmt(s.performance), usd(s.cost)]),
    ]),
  );
  line();
  line("## Training and prediction time");
  line();
  const timing = new Map(r.routers.map((x) => [x.name, x]));
  line(
    mdTable([
      ["router", "source", "fit (s)", `predict ${r.queries} queries (s)`],
      ...[...timing.values()].map((x) => [x.name, x.source, fmt(x.fitSeconds, 2), fmt(x.predictSeconds, 3)]),
    ]),
  );
  return `${out.join("\n")}\n`;
}

/** The overall table's rows (header first); the terminal uses shorter column labels than Markdown. */
function formatRows(r: EvalResult, target: "terminal" | "markdown" = "markdown"): string[][] {
  const short = target === "terminal";
  const two = r.pair !== undefined;
  const cv = r.cv;
  // With --cv every headline figure gets its cross-validated mean ± sd beside the one test score.
  const withCv = (label: string) => (cv ? [label, `CV ${label}`] : [label]);
  const header = [
    "router",
    "scenario",
    ...withCv("perf"),
    "cost/query",
    ...withCv("reward"),
    ...withCv("gap closed"),
    ...withCv("AIQ"),
    short ? "tasks +/−" : "tasks beat/lost",
    ...(two ? [...withCv("APGR"), ...withCv(short ? "CPT50" : "CPT(50%)"), short ? "CPT80" : "CPT(80%)"] : []),
  ];
  const rows = r.routers.map((x) => {
    const c = cv?.routers.find((y) => y.name === x.name && y.scenario === x.scenario);
    const both = (test: string, s: Spread | undefined, f: (v: number) => string = fmt) =>
      cv ? [test, s ? pm(s, f) : "—"] : [test];
    return [
      x.name,
      x.scenario,
      ...both(fmt(x.performance), c?.performance),
      usd(x.cost),
      ...both(fmt(x.reward), c?.reward),
      ...both(pct(x.gapClosed), c?.gapClosed, pct),
      ...both(fmt(x.aiq), c?.aiq),
      `${x.beatsBestSingleOn.length}/${x.losesOn.length}`,
      ...(two ? [...both(fmt(x.apgr), c?.apgr), ...both(pct(x.cpt50), c?.cpt50, pct), pct(x.cpt80)] : []),
    ];
  });
  const pad = (row: string[]) => [...row, ...new Array<string>(header.length - row.length).fill("")];
  const perfCells = (test: number, s: Spread | undefined) => (cv ? [fmt(test), s ? pm(s) : "—"] : [fmt(test)]);
  const bestLabel = short ? ["best single", r.bestSingle.model] : [`best single (${r.bestSingle.model})`, ""];
  rows.push(pad([...bestLabel, ...perfCells(r.bestSingle.performance, cv?.bestSingle), usd(r.bestSingle.cost)]));
  rows.push(pad(["oracle", "", ...perfCells(r.oracle.performance, cv?.oracle), usd(r.oracle.cost)]));
  return [header, ...rows];
}

/** "0.612 ± 0.011" (percentages as "61.2% ± 1.1%"). */
export function pm(s: Spread, f: (v: number) => string = fmt): string {
  return `${f(s.mean)} ± ${f(s.sd)}`;
}

function mdTable(rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const [header, ...body] = rows;
  if (!header) return "";
  return [
    `| ${header.map(esc).join(" | ")} |`,
    `|${header.map((_, j) => (j === 0 ? "---" : "---:")).join("|")}|`,
    ...body.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}

/** The routers of a result, each once, in order: a router's colour in every plot is its place here. */
function routerNames(r: EvalResult): string[] {
  return [...new Set(r.routers.map((x) => x.name))];
}

function color(k: number): string {
  return PALETTE[k % PALETTE.length] as string;
}

/** Each router's λ sweep as a line: its frontier points by increasing cost, in the router's colour. */
function frontierLines(r: EvalResult, names: string[]) {
  return names.flatMap((name, k) => {
    const x = r.routers.find((y) => y.name === name) as RouterResult;
    return [...x.frontier].sort((a, b) => a.cost - b.cost).map((p) => ({ ...p, router: name, color: color(k) }));
  });
}

/** The frame of the cost–performance plots (frontier, cost match): room on the right for the legend. */
const COST_PLANE = { width: 860, height: 520, marginLeft: 50, marginRight: 210, grid: true };

/** Cost–performance plane: each single model a labelled point, each router's λ sweep a line, the oracle a star. */
export function frontierSvg(r: EvalResult, title: string): string {
  const names = routerNames(r);
  const lines = frontierLines(r, names);
  const singles = r.singles.map((s) => ({ cost: s.cost, performance: s.performance, model: s.model }));
  const oracle = [{ cost: r.oracle.cost, performance: r.oracle.performance, label: "oracle" }];
  const legend: LegendItem[] = [
    ...names.map((name, k): LegendItem => ({ label: name, color: color(k), shape: "line" })),
    { label: "single model", color: "#222", shape: "dot" },
    { label: "per-query oracle", color: "#d62728", shape: "dot" },
  ];
  return renderSvg({
    title: `${title}: cost–performance frontier`,
    subtitle: `${r.split} split, ${r.queries} queries; each line sweeps λ in predicted performance − λ·cost; x on a log scale`,
    legend,
    plot: {
      ...COST_PLANE,
      x: { type: "log", label: "mean cost per query (USD) →" },
      y: { label: "↑ mean performance", nice: true },
      marks: [
        Plot.line(lines, { x: "cost", y: "performance", z: "router", stroke: "color", strokeWidth: 2 }),
        Plot.dot(lines, { x: "cost", y: "performance", fill: "color", r: 2 }),
        Plot.dot(singles, { x: "cost", y: "performance", fill: "#222", r: 4 }),
        Plot.text(singles, { x: "cost", y: "performance", text: "model", dx: 6, textAnchor: "start", fontSize: 9 }),
        Plot.dot(oracle, { x: "cost", y: "performance", fill: "#d62728", r: 5, symbol: "star" }),
        Plot.text(oracle, { x: "cost", y: "performance", text: "label", dy: -10, fill: "#d62728" }),
      ],
    },
  });
}

/** Per-task horizontal grouped bars: the leading router vs the best single model vs the oracle. */
export function perTaskSvg(r: EvalResult, title: string): string {
  const lead = leadingRouter(r);
  const series = [
    ...(lead ? [{ label: `${lead.name} (${lead.scenario})`, per: lead.perTask, color: PALETTE[0] as string }] : []),
    { label: `best single: ${r.bestSingle.model}`, per: r.bestSingle.perTask, color: PALETTE[9] as string },
    { label: "per-query oracle", per: r.oracle.perTask, color: PALETTE[1] as string },
  ];
  const data = r.tasks.flatMap((task) =>
    series.map((s, k) => ({
      task,
      series: s.label,
      order: k,
      performance: s.per[task]?.performance ?? 0,
      color: s.color,
    })),
  );
  return renderSvg({
    title: `${title}: performance per task`,
    subtitle: `${r.split} split; bars: mean performance of each task's test queries`,
    legend: series.map((s) => ({ label: s.label, color: s.color, shape: "box" })),
    plot: {
      width: 860,
      height: Math.max(200, r.tasks.length * series.length * 14 + 60),
      marginLeft: 160,
      marginRight: 40,
      x: { domain: [0, 1], label: "mean performance →", grid: true },
      y: { axis: null, domain: series.map((s) => s.label) },
      fy: { label: null, domain: r.tasks },
      marks: [
        Plot.barX(data, { x: "performance", y: "series", fy: "task", fill: "color" }),
        Plot.text(data, {
          x: "performance",
          y: "series",
          fy: "task",
          text: (d: { performance: number }) => d.performance.toFixed(2),
          dx: 14,
          fontSize: 8,
        }),
        Plot.ruleX([0]),
      ],
    },
  });
}

/** RouteLLM's view for two models: performance against the share of calls to the strong model. */
export function callCurveSvg(r: EvalResult, title: string): string {
  const names = routerNames(r);
  const points = names.flatMap((name, k) => {
    const x = r.routers.find((y) => y.name === name) as RouterResult;
    const c = x.strongCallCurve;
    if (!c) return [];
    return c.strongShare.map((s, i) => ({
      share: 100 * s,
      performance: c.performance[i] as number,
      router: name,
      color: color(k),
    }));
  });
  const weak = r.singles.find((s) => s.model === r.pair?.weak)?.performance ?? Number.NaN;
  const strong = r.singles.find((s) => s.model === r.pair?.strong)?.performance ?? Number.NaN;
  return renderSvg({
    title: `${title}: calls to the strong model`,
    subtitle: `strong ${r.pair?.strong} ${fmt(strong)}, weak ${r.pair?.weak} ${fmt(weak)}; dashed: the two models alone`,
    legend: names.map((name, k) => ({ label: name, color: color(k), shape: "line" })),
    plot: {
      width: 860,
      height: 480,
      marginLeft: 50,
      grid: true,
      x: { domain: [0, 100], label: "calls to the strong model (%) →" },
      y: { label: "↑ mean performance", nice: true },
      marks: [
        Plot.ruleY([weak], { stroke: "#888", strokeDasharray: "4,3" }),
        Plot.ruleY([strong], { stroke: "#d62728", strokeDasharray: "4,3" }),
        Plot.line(points, { x: "share", y: "performance", z: "router", stroke: "color", strokeWidth: 2 }),
      ],
    },
  });
}

// ---------------------------------------------------------------------------------------------------------
// Cost to match the best single model (eval/cost-match.ts): per router, the cheapest λ reaching the best
// single model's performance; per scenario, performance and cost ratio; and the bounds that explain why
// the budget is or is not reachable (oracle, task-only oracle, cost floor, per task).
// ---------------------------------------------------------------------------------------------------------

/** The section's Markdown lines (starting with a blank line). */
export function costMatchMarkdown(r: EvalResult): string[] {
  const cm = r.costMatch;
  const budget = cm.budgetRatio;
  const bs = r.bestSingle;
  const byName = new Map<string, RouterResult[]>();
  for (const x of r.routers) byName.set(x.name, [...(byName.get(x.name) ?? []), x]);
  const out: string[] = ["", "## Cost to match the best single model", ""];
  const matched = [...byName.values()]
    .map((xs) => xs[0] as RouterResult)
    .filter((x) => x.matchBestSingle)
    .sort((a, b) => (a.matchBestSingle?.cost ?? 0) - (b.matchBestSingle?.cost ?? 0));
  const within = matched.filter((x) => (x.matchBestSingle?.costRatio ?? Infinity) <= budget);
  const scenarioHits = r.routers.filter(
    (x) => x.performance >= bs.performance - 1e-12 && x.costRatio <= budget && x.scenario !== "performance-first",
  );
  const cheapest = matched[0];
  out.push(
    `Target: **${bs.model}** ${fmt(bs.performance)} at ${usd(bs.cost)}/query; the budget is ≤ ${pct(budget)} of its cost ` +
      `(${usd(budget * bs.cost)}). ` +
      (within.length
        ? `**Met on this split, with λ picked on it,** by ${within.map((x) => `${x.name} (${pct(x.matchBestSingle?.costRatio)})`).join(", ")} along the λ sweep`
        : `**No router meets it on this split**${cheapest ? `: the cheapest match is ${cheapest.name} at ${pct(cheapest.matchBestSingle?.costRatio)} of the cost` : ": no router reaches the best single model's performance at any λ"}`) +
      (scenarioHits.length
        ? `; among the named scenarios ${scenarioHits.map((x) => `${x.name} ${x.scenario} (${pct(x.costRatio)})`).join(", ")} meet it.`
        : "; no named scenario (balance, cost-first) meets it."),
  );
  out.push("");
  out.push(
    "The λ point is the cheapest of a refined λ sweep chosen in hindsight on this split (one query moves the mean by " +
      `${fmt(1 / r.queries, 4)}); \`bench/cost-match.ts\` chooses λ on training folds and cross-validates it. ` +
      `"at ≤ ${pct(budget)}" is the best performance of the same sweep within the budget.`,
  );
  out.push("");
  const scen = r.scenarios.filter((s) => s !== "performance-first");
  out.push(
    mdTable([
      [
        "router",
        "match λ",
        "perf",
        "cost/query",
        "cost ratio",
        `perf at ≤ ${pct(budget)}`,
        ...scen.map((s) => `${s}: perf @ cost ratio`),
      ],
      ...[...byName.entries()].map(([name, xs]) => {
        const x = xs[0] as RouterResult;
        const m = x.matchBestSingle;
        return [
          name,
          m ? m.lambda.toPrecision(3) : "never",
          fmt(m?.performance),
          usd(m?.cost),
          m ? pct(m.costRatio) : "—",
          x.atBudget ? `${fmt(x.atBudget.performance)} (${usd(x.atBudget.cost)})` : "—",
          ...scen.map((s) => {
            const y = xs.find((z) => z.scenario === s);
            return y ? `${fmt(y.performance)} @ ${pct(y.costRatio)}` : "—";
          }),
        ];
      }),
    ]),
  );
  out.push("", "### What any router could do (bounds from the test outcomes)", "");
  const o = cm.oracle;
  const bound = (label: string, x: { performance: number; cost: number; costRatio: number }) => [
    label,
    fmt(x.performance),
    usd(x.cost),
    pct(x.costRatio),
  ];
  out.push(
    mdTable([
      ["bound", "perf", "cost/query", "cost ratio"],
      ...(o
        ? [
            bound("per-query oracle, LP (randomised; lower bound for every router)", o.lp),
            bound("per-query oracle, one candidate per query", o.integer),
          ]
        : [["per-query oracle", "unreachable", "—", "—"]]),
      cm.taskOracle
        ? bound("task-only oracle (one candidate mixture per task)", cm.taskOracle)
        : ["task-only oracle", "unreachable", "—", "—"],
      ...(cm.taskPlan
        ? [bound("task plan fitted on train (one candidate per task), scored on this split", cm.taskPlan)]
        : []),
      bound("cost floor (each query's cheapest candidate)", cm.floor),
    ]),
  );
  out.push("");
  out.push(
    `Sending every query to its cheapest candidate costs ${pct(cm.floor.costRatio)} of the best single model (the floor no router goes below). ` +
      (o
        ? `Knowing every outcome, matching it costs ${pct(o.lp.costRatio)} (the per-query oracle: no router does better). `
        : "Even the per-query oracle cannot match it. ") +
      (cm.taskOracle
        ? `Knowing only the task, a mixture per task needs ${pct(cm.taskOracle.costRatio)} — with the task means read off this split's own outcomes (${fmt(r.queries / Math.max(1, r.tasks.length), 0)} queries per task), which flatters small splits`
        : "Knowing only the task, no mixture per task reaches it") +
      (cm.taskPlan
        ? `; a one-candidate-per-task plan fitted on the train split scores ${fmt(cm.taskPlan.performance)} at ${pct(cm.taskPlan.costRatio)} of the cost here. `
        : cm.taskPlan === null
          ? "; on the train split no one-candidate-per-task plan reaches the best single model. "
          : ". ") +
      "Whatever a router saves below the task-level figures has to come from predicting, query by query, when a cheaper model answers as well.",
  );
  out.push("");
  out.push(
    mdTable([
      [
        "task",
        "queries",
        "best single perf",
        "best single cost",
        "share of its cost",
        "cheapest on average",
        "oracle perf",
        "oracle cost",
      ],
      ...Object.entries(cm.perTask).map(([t, x]) => [
        t,
        String(x.queries),
        fmt(x.bestSingle.performance),
        usd(x.bestSingle.cost),
        pct(x.bestSingleCostShare),
        `${x.cheapest.model} ${fmt(x.cheapest.performance)} at ${usd(x.cheapest.cost)}`,
        fmt(x.oracle.performance),
        usd(x.oracle.cost),
      ]),
    ]),
  );
  out.push("");
  out.push(
    "Oracle columns: the one-candidate-per-query oracle assignment that matches the best single model overall, on each task.",
  );
  return out;
}

/** Routers' λ sweeps near the target, the oracle's least-cost curve, the best single model and the budget line. */
export function costMatchSvg(r: EvalResult, title: string): string {
  const names = routerNames(r);
  const bs = r.bestSingle;
  const lines = frontierLines(r, names);
  const matches = names.flatMap((name, k) => {
    const m = (r.routers.find((y) => y.name === name) as RouterResult).matchBestSingle;
    return m ? [{ cost: m.cost, performance: m.performance, color: color(k) }] : [];
  });
  const oracle = r.costMatch.oracleFrontier;
  const budget = r.costMatch.budgetRatio * bs.cost;
  const target = [{ cost: bs.cost, performance: bs.performance, label: `best single ${bs.model}` }];
  const legend: LegendItem[] = [
    ...names.map((name, k): LegendItem => ({ label: name, color: color(k), shape: "line" })),
    { label: "oracle: least cost per performance", color: "#d62728", shape: "line" },
    { label: "best single model", color: "#222", shape: "dot" },
  ];
  const costs = [...lines.map((p) => p.cost), ...oracle.map((p) => p.cost)].filter((v) => v > 0);
  return renderSvg({
    title: `${title}: cost to match the best single model`,
    subtitle: `${r.split} split; dashed: ${pct(r.costMatch.budgetRatio)} of the best single model's cost and its performance; rings: each router's cheapest matching λ`,
    legend,
    plot: {
      ...COST_PLANE,
      x: { type: "log", label: "mean cost per query (USD) →", domain: [Math.min(...costs), Math.max(...costs)] },
      y: { label: "↑ mean performance", nice: true },
      marks: [
        Plot.ruleX([budget], { stroke: "#888", strokeDasharray: "4,3" }),
        Plot.ruleY([bs.performance], { stroke: "#888", strokeDasharray: "4,3" }),
        Plot.line(oracle, { x: "cost", y: "performance", stroke: "#d62728", strokeWidth: 2 }),
        Plot.line(lines, { x: "cost", y: "performance", z: "router", stroke: "color", strokeWidth: 1.5 }),
        Plot.dot(matches, { x: "cost", y: "performance", stroke: "color", r: 6, strokeWidth: 2 }),
        Plot.dot(target, { x: "cost", y: "performance", fill: "#222", r: 5 }),
        Plot.text(target, { x: "cost", y: "performance", text: "label", dx: 8, textAnchor: "start", fontSize: 9 }),
      ],
    },
  });
}
