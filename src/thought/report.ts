import type { Store } from "../data/store.ts";
import { markdownTable } from "../distill/report.ts";
import type { BuildSummary } from "./build.ts";
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
