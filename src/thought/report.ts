import type { Store } from "../data/store.ts";
import { markdownTable } from "../distill/report.ts";
import type { BuildSummary } from "./build.ts";
import type { EvalReport } from "./eval.ts";
import type { ThoughtTemplate } from "./templates.ts";

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

/** Markdown report of a template set: what built it, counts per task, one example template per task. */
export function buildMarkdown(s: BuildSummary, templates: ThoughtTemplate[], store: Store, command: string): string {
  const byTask = new Map<string, ThoughtTemplate>();
  for (const t of templates) if (!byTask.has(t.task)) byTask.set(t.task, t);
  const llm = s.summariser.startsWith("llm:");
  const lines = [
    `# Thought templates: ${s.set}`,
    "",
    `Command: \`${command}\``,
    "",
    `Dataset ${s.dataset}; summariser **${s.summariser}** ` +
      (llm
        ? "(a language model writing each template from the selected responses)"
        : "(non-LLM: problem type from the task, reasoning steps from the step headings of the selected responses, " +
          "answer format from the markers they share)") +
      `; responses ranked by ${s.rank}; query embeddings from ${s.embedder}.`,
    "",
    `${templates.length} templates in the set (${s.built} built in this run, ${s.alreadyDone} already there); ` +
      `${s.noSuccessfulResponse} queries had no successful response to learn from; ${s.unusable} summariser replies ` +
      `were unusable${s.cost > 0 ? `; summariser spend $${s.cost.toFixed(4)}` : ""}.`,
    "",
    markdownTable(
      ["task", "queries", "templates"],
      Object.entries(s.perTask).map(([t, c]) => [t, String(c.queries), String(c.templates)]),
    ),
    "",
    "## One example per task",
  ];
  for (const [task, t] of [...byTask].sort((a, b) => a[0].localeCompare(b[0]))) {
    const q = store.query(t.queryId);
    lines.push(
      "",
      `### ${task}`,
      "",
      `Query ${t.queryId}: ${clip((q?.text ?? "").replace(/\s+/g, " "), 240)}`,
      "",
      `From: ${t.sources.map((x) => `${x.model} (performance ${x.performance})`).join(", ")}`,
      "",
      `> ${t.template}`,
    );
  }
  return `${lines.join("\n")}\n`;
}

/** Markdown report of `thought eval`: the per-task table and a few queries the templates changed. */
export function evalMarkdown(
  r: EvalReport,
  header: string[],
  rows: string[][],
  command: string,
  note?: string,
): string {
  const lines = [
    `# Thought templates: effect on ${r.model}`,
    "",
    `Command: \`${command}\``,
    "",
    `Dataset ${r.dataset}, test split; templates from set ${r.set}, top-${r.k} per query (same task first, then ` +
      "cosine). Each query is answered twice by the same model, without and with the templates, and both answers " +
      "are scored with the task's metric.",
    "",
    markdownTable(header, rows),
  ];
  if (note) lines.push("", `Note: ${note}`);
  for (const [t, why] of Object.entries(r.skippedTasks)) lines.push("", `Skipped ${t}: ${why}`);
  if (r.failedCalls) lines.push("", `${r.failedCalls} queries left out because a model call failed for good.`);
  const changed = r.rows.filter((x) => x.with.score !== x.without.score).slice(0, 3);
  if (changed.length) lines.push("", "## Queries the templates changed (first 3)");
  for (const x of changed)
    lines.push(
      "",
      `- ${x.queryId} (${x.task}): ${x.without.score} → ${x.with.score}; without: "${clip(x.without.response, 160)}"; ` +
        `with: "${clip(x.with.response, 160)}"`,
    );
  return `${lines.join("\n")}\n`;
}
