import type { DistillSet, DistillStats } from "./build.ts";
import { type ExportFormat, FILE_OF } from "./formats.ts";

/** Markdown table (pipes in cells escaped). */
export function markdownTable(header: string[], rows: string[][]): string {
  const esc = (s: string) => s.replace(/\|/g, "\\|").replace(/\n/g, " ");
  return [
    `| ${header.map(esc).join(" | ")} |`,
    `| ${header.map((_, j) => (j === 0 ? "---" : "---:")).join(" | ")} |`,
    ...rows.map((r) => `| ${r.map(esc).join(" | ")} |`),
  ].join("\n");
}

export const TASK_HEADER = [
  "task",
  "train queries",
  "removed exact",
  "removed n-gram",
  "with records",
  "without records",
  "SFT records",
  "gold",
  "DPO pairs",
];

export function taskRows(stats: DistillStats): string[][] {
  const row = (name: string, c: DistillStats["total"]) => [
    name,
    String(c.trainQueries),
    String(c.removedExact),
    String(c.removedNgram),
    String(c.queriesWithRecords),
    String(c.queriesWithoutRecords),
    String(c.sftRecords),
    String(c.goldRecords),
    String(c.dpoPairs),
  ];
  return [...Object.entries(stats.perTask).map(([t, c]) => row(t, c)), row("ALL", stats.total)];
}

export const MODEL_HEADER = ["source", "SFT records", "DPO chosen", "DPO rejected"];

export function modelRows(stats: DistillStats): string[][] {
  return Object.entries(stats.perModel).map(([m, c]) => [m, String(c.sft), String(c.dpoChosen), String(c.dpoRejected)]);
}

function clip(text: string, max = 600): string {
  return text.length <= max ? text : `${text.slice(0, max)}… [${text.length - max} more characters]`;
}

/** The Markdown report written beside the exported files. */
export function distillMarkdown(set: DistillSet, formats: readonly ExportFormat[], command: string): string {
  const s = set.stats;
  const lines: string[] = [
    `# Distillation set: ${s.dataset}`,
    "",
    `Command: \`${command}\``,
    "",
    `Ranking **${s.rank}**, top-${s.topK} per query, stopping at the first response with performance 0` +
      (s.maxParamsB !== null ? `; only models ≤ ${s.maxParamsB}B parameters` : "") +
      (s.withGold ? "; plus the gold answer as a record (not for code tasks, whose ground truth is tests)" : "") +
      ".",
    "",
    `Decontamination against the ${s.testQueries} test queries: exact text match, or shared ` +
      `${s.decontamination.ngram}-word n-grams covering ≥ ${s.decontamination.minOverlap} of the shorter query's ` +
      `n-grams (0 = any shared n-gram, GPT-3's rule); n-grams in ≥ ${s.decontamination.boilerplateDf} queries are ` +
      `task boilerplate and ignored (${s.decontamination.boilerplateNgrams} such n-grams). ` +
      `Removed **${s.total.removedExact} exact + ${s.total.removedNgram} n-gram** of ${s.total.trainQueries} training queries.`,
    "",
    "Files: " +
      formats.map((f) => `\`${FILE_OF[f]}\``).join(", ") +
      ", `dataset_info.json` (LLaMA-Factory), " +
      "`provenance.jsonl` (source of each SFT record, same order), `report.json`.",
    "",
    "## Per task",
    "",
    markdownTable(TASK_HEADER, taskRows(s)),
    "",
    "## Per source model",
    "",
    markdownTable(MODEL_HEADER, modelRows(s)),
    "",
    `Queries whose ranking stopped at a failing response before top-${s.topK}: ${s.stoppedAtZero}. ` +
      `Duplicate responses skipped: ${s.duplicateResponsesSkipped}. Responses without text: ${s.responsesWithoutText}.`,
  ];
  if (s.excludedModels.length)
    lines.push(
      "",
      `Models left out by --small-only: ${s.excludedModels.map((m) => `${m.model} (${m.size ?? "no size"}: ${m.reason})`).join(", ")}.`,
    );
  for (const n of s.notes) lines.push("", `Note: ${n}`);
  // Examples: the first model-written record with a worked answer (else the first record), and the first pair.
  let ex = set.sftSources.findIndex(
    (r) => r.source !== "gold" && (set.sft[set.sftSources.indexOf(r)]?.response.length ?? 0) >= 100,
  );
  if (ex < 0) ex = 0;
  const first = set.sft[ex];
  const firstSrc = set.sftSources[ex];
  if (first && firstSrc)
    lines.push(
      "",
      "## Example SFT record",
      "",
      `Query ${firstSrc.queryId} (${firstSrc.task}), response of ${firstSrc.source} (rank ${firstSrc.rank}, performance ${firstSrc.performance ?? "—"}); long fields clipped here, not in the files:`,
      "",
      "```json",
      JSON.stringify({ instruction: clip(first.prompt, 700), input: "", output: clip(first.response, 900) }, null, 1),
      "```",
    );
  const pair = set.pairs[0];
  const pairSrc = set.pairSources[0];
  if (pair && pairSrc)
    lines.push(
      "",
      "## Example DPO pair",
      "",
      `Query ${pairSrc.queryId} (${pairSrc.task}): chosen from ${pairSrc.chosen}, rejected from ${pairSrc.rejected}.`,
      "",
      "```json",
      JSON.stringify(
        { prompt: clip(pair.prompt, 500), chosen: clip(pair.chosen, 500), rejected: clip(pair.rejected, 500) },
        null,
        1,
      ),
      "```",
    );
  if (s.removed.length) {
    lines.push("", "## Removed training queries (first 10)", "");
    for (const r of s.removed.slice(0, 10))
      lines.push(
        `- ${r.queryId} (${r.task}): ${r.reason} match with test ${r.testId}${r.ngram ? ` (overlap ${r.overlap?.toFixed(2)}, e.g. "${r.ngram}")` : ""}`,
      );
  }
  return `${lines.join("\n")}\n`;
}
