/**
 * How often our scorers agree with the scores recorded in real routing data:
 * RouteProfile (12 tasks × 8 LLMs, data/routeprofile, bundled) and LLMRouter-NQ (500 queries × 6 LLMs,
 * ../shared/data/llmrouter-nq when present). Code tasks run the generated code (python3) — this script
 * is the one place that enables code execution without a flag, on the published responses only.
 *
 *   node --import tsx bench/scorer-agreement.ts [--no-code] [--json]
 */
import { existsSync, readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { formatTable } from "../src/report/text-table.ts";
import { scoreResponse } from "../src/scoring/score.ts";
import { flagArg } from "./support/args.ts";

const REPO = resolve(import.meta.dirname, "..");
const SHARED = resolve(REPO, "../shared/data");
const noCode = flagArg("--no-code");

interface Row {
  dataset: string;
  task: string;
  metric: string;
  n: number;
  agree: number;
  meanAbsDiff: number;
  recordedMean: number;
  oursMean: number;
}

interface RPItem {
  task_name: string;
  query: string;
  ground_truth: string;
  metric: string;
  task_id: string | number | null;
  model_performance: Record<string, { response: string; task_performance?: number }>;
}

async function agreement(
  dataset: string,
  items: Array<{ task: string; metric: string; pairs: Array<{ run: () => Promise<number>; recorded: number }> }>,
): Promise<Row[]> {
  const byTask = new Map<string, { metric: string; ours: number[]; rec: number[] }>();
  for (const it of items) {
    const slot = byTask.get(it.task) ?? { metric: it.metric, ours: [], rec: [] };
    byTask.set(it.task, slot);
    const scores = await Promise.all(it.pairs.map((p) => p.run()));
    it.pairs.forEach((p, i) => {
      slot.ours.push(scores[i] as number);
      slot.rec.push(p.recorded);
    });
  }
  return [...byTask].map(([task, s]) => {
    const n = s.ours.length;
    const diffs = s.ours.map((o, i) => Math.abs(o - (s.rec[i] as number)));
    const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / Math.max(1, a.length);
    return {
      dataset,
      task,
      metric: s.metric,
      n,
      agree: diffs.filter((d) => d < 0.01).length / n,
      meanAbsDiff: mean(diffs),
      recordedMean: mean(s.rec),
      oursMean: mean(s.ours),
    };
  });
}

const rpFile = existsSync(join(SHARED, "routeprofile/route_data/routing_test_data.json"))
  ? join(SHARED, "routeprofile/route_data/routing_test_data.json")
  : join(REPO, "data/routeprofile/route_data/routing_test_data.json");
const rp = JSON.parse(readFileSync(rpFile, "utf8")) as RPItem[];
/** LLMRouter (which produced RouteProfile's scores) falls back to `cem` for metric names it lacks: "math", "f1_score". */
const RECORDED_AS: Record<string, string> = { math: "cem", f1_score: "cem" };
const rpItems = rp
  .filter((q) => !(noCode && q.metric === "code_eval"))
  .flatMap((q) =>
    [q.metric, RECORDED_AS[q.metric]]
      .filter((m): m is string => m !== undefined)
      .map((metric) => ({
        task: metric === q.metric ? q.task_name : `${q.task_name} (as recorded: ${metric})`,
        metric,
        pairs: Object.values(q.model_performance)
          .filter((m) => typeof m.task_performance === "number")
          .map((m) => ({
            recorded: m.task_performance as number,
            run: async () =>
              (
                await scoreResponse(
                  {
                    task: q.task_name,
                    metric,
                    query: q.query,
                    groundTruth: q.ground_truth,
                    taskId: q.task_id === null ? null : String(q.task_id),
                  },
                  m.response ?? "",
                  { allowCodeExec: true, codeLimits: { timeoutMs: 5000, memoryMb: 512 } },
                )
              ).score,
          })),
      })),
  );
const rows = await agreement("routeprofile", rpItems);

const nqFile = join(SHARED, "llmrouter-nq/nq6_routing.json");
if (existsSync(nqFile)) {
  const nq = JSON.parse(readFileSync(nqFile, "utf8")) as Array<{
    query: string;
    gt: string[];
    response_list: string[] | string;
    perf_list: number[] | string;
  }>;
  const list = <T>(v: T[] | string): T[] => (typeof v === "string" ? (JSON.parse(v.replace(/'/g, '"')) as T[]) : v);
  const nqItems = nq.map((q) => {
    const responses = typeof q.response_list === "string" ? [] : q.response_list;
    const perfs = list(q.perf_list);
    return {
      task: "nq",
      metric: "f1_tagged",
      pairs: responses.map((r, i) => ({
        recorded: perfs[i] as number,
        run: async () =>
          (
            await scoreResponse(
              { task: "nq", metric: "f1_tagged", query: q.query, groundTruth: JSON.stringify(q.gt) },
              r,
            )
          ).score,
      })),
    };
  });
  rows.push(...(await agreement("llmrouter-nq", nqItems)));
}

/** code_eval on the benchmarks' own reference solutions: every one should pass. */
const canonical: string[] = [];
const heFile = join(SHARED, "fusionbench/HumanEval.jsonl");
const mbppFile = join(SHARED, "fusionbench/mbpp.jsonl");
if (!noCode && existsSync(heFile) && existsSync(mbppFile)) {
  const jsonl = (f: string) =>
    readFileSync(f, "utf8")
      .split("\n")
      .filter((l) => l.trim())
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  const he = jsonl(heFile);
  const heScores = await Promise.all(
    he.map(
      async (p) =>
        (
          await scoreResponse(
            {
              task: "human_eval",
              metric: "code_eval",
              query: String(p.prompt),
              groundTruth: String(p.test),
              taskId: String(p.task_id),
              entryPoint: String(p.entry_point),
            },
            `[BEGIN]\n${String(p.canonical_solution)}\n[DONE]`,
            { allowCodeExec: true },
          )
        ).score,
    ),
  );
  const mbpp = jsonl(mbppFile).slice(0, 200);
  const mbppScores = await Promise.all(
    mbpp.map(
      async (p) =>
        (
          await scoreResponse(
            {
              task: "mbpp",
              metric: "code_eval",
              query: String(p.text),
              groundTruth: JSON.stringify(p.test_list),
              taskId: String(p.task_id),
            },
            `[BEGIN]\n${String(p.code)}\n[DONE]`,
            { allowCodeExec: true },
          )
        ).score,
    ),
  );
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  canonical.push(
    `HumanEval canonical solutions passing code_eval: ${sum(heScores)}/${he.length}`,
    `MBPP reference solutions (first ${mbpp.length}) passing code_eval: ${sum(mbppScores)}/${mbpp.length}`,
  );
}

if (flagArg("--json")) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
else {
  process.stdout.write(`scorer agreement with recorded scores (|ours - recorded| < 0.01)\nsource: ${rpFile}\n`);
  process.stdout.write(
    formatTable(
      ["dataset", "task", "metric", "pairs", "agree", "mean |diff|", "recorded mean", "ours mean"],
      rows.map((r) => [
        r.dataset,
        r.task,
        r.metric,
        String(r.n),
        `${(100 * r.agree).toFixed(1)}%`,
        r.meanAbsDiff.toFixed(3),
        r.recordedMean.toFixed(3),
        r.oursMean.toFixed(3),
      ]),
    ),
  );
  const all = rows.reduce((s, r) => s + r.n, 0);
  const agreeAll = rows.reduce((s, r) => s + r.agree * r.n, 0) / all;
  process.stdout.write(`overall: ${(100 * agreeAll).toFixed(1)}% of ${all} (response, score) pairs\n`);
  for (const line of canonical) process.stdout.write(`${line}\n`);
}
