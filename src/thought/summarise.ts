import type { Outcome, Query } from "../data/types.ts";
import type { ChatClient, ChatMessage } from "../llm/types.ts";

/**
 * Turning a query's best responses into a thought template: 1–5 sentences naming the problem type, the
 * reasoning steps and the answer format, reusable for similar queries.
 *
 * Two summarisers, named for what they are:
 *  - `llm:<model>`: a language model writes the template from the responses (FusionFactory's method);
 *  - `extractive`: a deterministic, non-LLM algorithm that assembles the template from the responses'
 *    visible structure (step headings, answer markers, length). It needs no model, so templates can be
 *    built offline; its templates are plainer than an LLM's and it is reported under its own name.
 */
export interface SummaryInput {
  query: Query;
  /** The selected responses, best first. */
  responses: Outcome[];
}

export interface SummaryResult {
  /** The template, or null when the summariser's output could not be used. */
  template: string | null;
  /** Why the template is null (unparseable or empty output). */
  problem?: string;
  cost: number;
  inputTokens: number;
  outputTokens: number;
}

export interface Summariser {
  /** Recorded with every template: "extractive" or "llm:<model>". */
  readonly name: string;
  summarise(input: SummaryInput, signal?: AbortSignal): Promise<SummaryResult>;
}

export const MAX_TEMPLATE_SENTENCES = 5;
const QUERY_CHARS = 3000;
const RESPONSE_CHARS = 2500;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}\n[… ${text.length - max} characters cut]`;
}

/** Sentences of a text (split after . ! ? followed by space and a capital, digit, bracket or backslash). */
export function sentences(text: string): string[] {
  return text
    .replace(/\s+/g, " ")
    .trim()
    .split(/(?<=[.!?])\s+(?=[A-Z0-9("'\\[*])/)
    .map((s) => s.trim())
    .filter(Boolean);
}

const SYSTEM_PROMPT =
  "You write thought templates: short, reusable guidance on how to solve a kind of problem, distilled from " +
  "worked solutions. A thought template describes the problem type, the reasoning steps that lead to a correct " +
  "answer, and the expected answer format. It never contains the example problem's specific numbers, names, " +
  "entities or final answer, so that it helps with similar problems rather than this one.";

/** The summariser prompt: the query with its task context and the selected correct responses. */
export function summariserMessages(input: SummaryInput): ChatMessage[] {
  const { query, responses } = input;
  const parts: string[] = [`Task: ${query.task}${query.domain ? ` (domain: ${query.domain})` : ""}`];
  if (query.taskDescription) parts.push(`Task description: ${clip(query.taskDescription, 600)}`);
  parts.push("", "Problem:", "<<<", clip(query.text, QUERY_CHARS), ">>>", "");
  parts.push(`Correct solutions from ${responses.length} model${responses.length === 1 ? "" : "s"}, best first:`);
  responses.forEach((r, i) => {
    parts.push(`[Solution ${i + 1}]`, "<<<", clip(r.response ?? "", RESPONSE_CHARS), ">>>");
  });
  parts.push(
    "",
    "Write a thought template of 1 to 5 sentences that would help solve similar problems:",
    "1. Name the problem type.",
    "2. Give the key reasoning steps in general terms and in order (what to identify, compute or check).",
    "3. State the answer format the solutions use (for example an option letter in parentheses, \\boxed{...}, " +
      "code between [BEGIN] and [Done], or a short phrase).",
    "Do not restate this problem's numbers, names or final answer, and do not mention the solutions or models.",
    "Reply with the template only, between <template> and </template>.",
  );
  return [
    { role: "system", content: SYSTEM_PROMPT },
    { role: "user", content: parts.join("\n") },
  ];
}

/**
 * The template from a summariser reply: the text between <template> tags (or the whole reply when the model
 * left the tags out), whitespace collapsed, at most five sentences. Null when nothing usable is left.
 */
export function parseTemplateReply(reply: string): { template: string | null; problem?: string } {
  const tagged = /<template>([\s\S]*?)(?:<\/template>|$)/i.exec(reply);
  let body = (tagged ? (tagged[1] as string) : reply).replace(/^\s*(?:thought\s+)?template\s*:\s*/i, "");
  body = body.replace(/<\/?template>/gi, "").trim();
  if (!body) return { template: null, problem: tagged ? "empty <template> tags" : "empty reply" };
  const s = sentences(body);
  if (s.length === 0) return { template: null, problem: "no sentence in the reply" };
  return { template: s.slice(0, MAX_TEMPLATE_SENTENCES).join(" ") };
}

/** A language model as summariser, through any ChatClient (real provider, or a local test server). */
export class LlmSummariser implements Summariser {
  readonly name: string;
  private readonly client: ChatClient;
  private readonly model: string;
  private readonly maxTokens: number;

  constructor(client: ChatClient, model: string, maxTokens = 400) {
    this.client = client;
    this.model = model;
    this.maxTokens = maxTokens;
    this.name = `llm:${model}`;
  }

  async summarise(input: SummaryInput, signal?: AbortSignal): Promise<SummaryResult> {
    const res = await this.client.chat(
      { model: this.model, messages: summariserMessages(input), temperature: 0, maxTokens: this.maxTokens },
      signal,
    );
    const parsed = parseTemplateReply(res.content);
    return { ...parsed, cost: res.cost, inputTokens: res.inputTokens, outputTokens: res.outputTokens };
  }
}

// ---- extractive summariser ----------------------------------------------------------------------------

const STEP_LINE =
  /^\s*(?:[#>*-]+\s*)*(?:\*\*)?\s*(?:step\s*\d+\s*[:.)-]|\d+\s*[.)]|[-*•]\s+\*\*)\s*(?:\*\*)?\s*(.+?)\s*$/i;
const BOLD_HEADING = /^\s*(?:#+\s*)?\*\*([^*]{6,80}?):?\*\*:?\s*$/;

const CONTENT_WORD = /[\p{L}\p{N}]{3,}/gu;

/** A heading whose content words (3+ letters, at least 5) are nearly all in the query restates the problem. */
function restates(heading: string, queryWords: ReadonlySet<string>): boolean {
  const ws = heading.toLowerCase().match(CONTENT_WORD) ?? [];
  if (ws.length < 5 || queryWords.size === 0) return false;
  return ws.filter((w) => queryWords.has(w)).length / ws.length >= 0.9;
}

/**
 * Step headings of a response ("Step 2: Find the total", "1. **Set up the equation:**"), cleaned. Lines
 * that restate the query (a puzzle's clues quoted back) are not steps and are dropped when the query is given.
 */
export function stepHeadings(response: string, queryText = ""): string[] {
  const queryWords = new Set(queryText.toLowerCase().match(CONTENT_WORD) ?? []);
  const out: string[] = [];
  for (const line of response.split("\n")) {
    const m = STEP_LINE.exec(line) ?? BOLD_HEADING.exec(line);
    if (!m) continue;
    let h = (m[1] as string)
      .replace(/\*\*|__|`|#/g, "")
      .replace(/\\\(|\\\)|\\\[|\\\]/g, "")
      .replace(/\s+/g, " ")
      .trim();
    // A heading is the part before its colon; what follows is this problem's working.
    const colon = h.indexOf(":");
    if (colon > 0) h = h.slice(0, colon);
    h = h.replace(/[.:;,]+$/, "").trim();
    const ws = h.split(/\s+/);
    // Headings full of numbers restate this problem rather than describe a step.
    const numbers = ws.filter((w) => /\d/.test(w)).length;
    if (ws.length < 2 || ws.length > 14 || numbers > 1 || !/[a-z]/i.test(h) || restates(h, queryWords)) continue;
    out.push(h.charAt(0).toLowerCase() + h.slice(1));
  }
  return [...new Set(out)];
}

/** How the responses give their answer, as one sentence, from markers they share. */
export function answerFormat(responses: readonly string[]): string {
  const share = (re: RegExp) => responses.filter((r) => re.test(r)).length / Math.max(1, responses.length);
  if (share(/\\boxed\{/) >= 0.5) return "Answer format: end with the final answer in \\boxed{...}.";
  if (share(/\[BEGIN\][\s\S]*\[Done\]/i) >= 0.5) return "Answer format: the code between [BEGIN] and [Done].";
  if (share(/```/) >= 0.5) return "Answer format: the code in a fenced code block.";
  if (share(/####\s*\S/) >= 0.5) return "Answer format: end with #### followed by the final answer.";
  if (share(/\([A-Z]\)/) >= 0.5) return "Answer format: the letter of the chosen option in parentheses, e.g. (B).";
  const words = responses.map((r) => r.split(/\s+/).filter(Boolean).length).sort((a, b) => a - b);
  const median = words[Math.floor(words.length / 2)] ?? 0;
  if (median <= 12) return `Answer format: a short phrase (about ${median} word${median === 1 ? "" : "s"}).`;
  return `Answer format: prose of about ${median} words.`;
}

function problemType(q: Query): string {
  const where = q.domain ? ` (${q.domain})` : "";
  const desc = q.taskDescription ? sentences(q.taskDescription)[0] : undefined;
  if (!desc) return `Problem type: ${q.task}${where}.`;
  const short = desc
    .split(/\s+/)
    .slice(0, 30)
    .join(" ")
    .replace(/[.:;,]+$/, "");
  return `Problem type: ${q.task}${where}; ${short}.`;
}

/**
 * Non-LLM template: problem type from the task (and its description), reasoning steps from the step
 * headings of the best-structured selected response, answer format from the markers the responses share.
 */
export class ExtractiveSummariser implements Summariser {
  readonly name = "extractive";

  async summarise(input: SummaryInput): Promise<SummaryResult> {
    const texts = input.responses.map((r) => r.response ?? "").filter((t) => t.trim());
    if (texts.length === 0)
      return { template: null, problem: "no response text", cost: 0, inputTokens: 0, outputTokens: 0 };
    let steps: string[] = [];
    for (const t of texts) {
      const h = stepHeadings(t, input.query.text);
      if (h.length > steps.length) steps = h;
    }
    const parts = [problemType(input.query)];
    if (steps.length >= 2) parts.push(`Reasoning steps: ${steps.slice(0, 4).join("; then ")}.`);
    else {
      const words = texts[0]?.split(/\s+/).filter(Boolean).length ?? 0;
      parts.push(
        words <= 12
          ? "Reasoning: the successful answers state the result directly, without written steps."
          : "Reasoning: the successful answers respond in prose, without numbered steps.",
      );
    }
    parts.push(answerFormat(texts));
    return { template: parts.join(" "), cost: 0, inputTokens: 0, outputTokens: 0 };
  }
}
