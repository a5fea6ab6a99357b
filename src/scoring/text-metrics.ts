/**
 * The FusionBench text metrics (same definitions as FusionFactory/LLMRouter's evaluation code), each
 * returning a score in [0,1] for one response against one gold answer.
 */
import { lastBoxed, mathEquivalent, unbox } from "./math-answer.ts";

const PUNCTUATION = new Set("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~");

/** SQuAD normalisation: lower case, drop punctuation and articles, collapse whitespace. */
export function normalizeAnswer(s: string): string {
  let t = s.toLowerCase();
  t = [...t].filter((ch) => !PUNCTUATION.has(ch)).join("");
  t = t.replace(/\b(a|an|the)\b/g, " ");
  return t.split(/\s+/).filter(Boolean).join(" ");
}

/** Contains-exact-match: the normalised gold appears inside the normalised answer. */
export function cem(response: string, gold: string): number {
  const p = normalizeAnswer(response);
  const g = normalizeAnswer(gold);
  return p === g || p.includes(g) ? 1 : 0;
}

/** The last "(X)" choice in the text, lower-cased and without spaces ("( b )" → "(b)"); "" when none. */
export function lastChoice(response: string): string {
  const all = response.match(/\(\s*[a-zA-Z]\s*\)/g);
  return all ? (all.at(-1) as string).replace(/\s+/g, "").toLowerCase() : "";
}

/** Multiple choice: the gold letter is the last "(X)" in the response. */
export function emMc(response: string, gold: string): number {
  const g = gold.trim().toLowerCase();
  if (!g) return 0;
  return lastChoice(response).includes(g) ? 1 : 0;
}

/** The final number of a GSM8K solution (after "####" when present), without "," "$" ".". */
export function gsm8kGold(gold: string): string {
  return (gold.split("####").at(-1) ?? "").replace(/[,$.]/g, "").trim();
}

/** The last number in the response, without "," "$" "." (FusionBench's extraction); null when none. */
export function lastNumber(response: string): string | null {
  const all = response.match(/-?[0-9.,]+/g);
  if (!all) return null;
  let last: string | null = null;
  for (let i = all.length - 1; i >= 0; i--) {
    const a = all[i] as string;
    if (a !== "" && a !== ".") {
      last = a;
      break;
    }
  }
  return last === null ? null : last.replace(/[,$.]/g, "").trim();
}

/** GSM8K: the last number in the response equals the gold's final number. */
export function gsm8k(response: string, gold: string): number {
  const n = lastNumber(response);
  return n !== null && n === gsm8kGold(gold) ? 1 : 0;
}

/** MATH: the last \boxed{} answer equals the gold (itself boxed or plain) after normalisation. */
export function math(response: string, gold: string): number {
  const gBoxed = lastBoxed(gold);
  const g = gBoxed !== null ? unbox(gBoxed) : gold;
  const boxed = lastBoxed(response);
  if (boxed === null) return 0;
  return mathEquivalent(unbox(boxed), g) ? 1 : 0;
}

/** SQuAD token F1 (yes/no/noanswer must match exactly). */
export function f1(response: string, gold: string): number {
  const p = normalizeAnswer(response);
  const g = normalizeAnswer(gold);
  const special = ["yes", "no", "noanswer"];
  if ((special.includes(p) || special.includes(g)) && p !== g) return 0;
  const pt = p.split(" ").filter(Boolean);
  const gt = g.split(" ").filter(Boolean);
  const counts = new Map<string, number>();
  for (const t of gt) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of pt) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / pt.length;
  const recall = same / gt.length;
  return (2 * precision * recall) / (precision + recall);
}

/** The text inside the last <answer>...</answer> (prompts that ask for tagged answers); null when there is none. */
export function answerTagContent(response: string): string | null {
  const all = [...response.matchAll(/<answer>([\s\S]*?)<\/answer>/gi)];
  return all.length ? ((all.at(-1) as RegExpMatchArray)[1] ?? "").trim() : null;
}

/** Irregular English forms → base form, for concept matching in CommonGen sentences. */
const IRREGULAR: Record<string, string> = Object.fromEntries(
  (
    "held:hold threw:throw thrown:throw ran:run sat:sit stood:stand wore:wear worn:wear took:take taken:take " +
    "gave:give given:give rode:ride ridden:ride drove:drive driven:drive ate:eat eaten:eat fell:fall fallen:fall " +
    "flew:fly flown:fly swam:swim sang:sing sung:sing caught:catch brought:bring bought:buy made:make built:build " +
    "hung:hang dug:dig led:lead left:leave lit:light met:meet paid:pay said:say saw:see seen:see sold:sell " +
    "sent:send shot:shoot slept:sleep spun:spin stuck:stick struck:strike swept:sweep taught:teach told:tell " +
    "thought:think won:win wrote:write written:write blew:blow blown:blow broke:break broken:break chose:choose " +
    "drew:draw drawn:draw drank:drink grew:grow grown:grow kept:keep knew:know began:begin bit:bite dove:dive " +
    "fed:feed felt:feel fought:fight found:find got:get went:go gone:go had:have heard:hear hid:hide knelt:kneel " +
    "leapt:leap lost:lose rang:ring rose:rise shook:shake shone:shine slid:slide spoke:speak spent:spend " +
    "stole:steal swung:swing tore:tear woke:wake wove:weave men:man women:woman children:child feet:foot " +
    "teeth:tooth mice:mouse geese:goose people:person knives:knife leaves:leaf wolves:wolf shelves:shelf"
  )
    .split(" ")
    .map((p) => p.split(":") as [string, string]),
);

const SUFFIXES: Array<[string, string]> = [
  ["ies", "y"],
  ["ied", "y"],
  ["es", ""],
  ["s", ""],
  ["ed", ""],
  ["ed", "e"],
  ["d", ""],
  ["ing", ""],
  ["ing", "e"],
];

/** Base forms a word may be an inflection of (plural, -ed, -ing, doubled consonants, irregulars). */
export function baseForms(word: string): Set<string> {
  const out = new Set([word]);
  const irregular = IRREGULAR[word];
  if (irregular) out.add(irregular);
  for (const [suffix, repl] of SUFFIXES) {
    if (!word.endsWith(suffix) || word.length - suffix.length < 2) continue;
    const base = word.slice(0, -suffix.length) + repl;
    out.add(base);
    if ((suffix === "ed" || suffix === "ing") && base.length >= 3 && base.at(-1) === base.at(-2))
      out.add(base.slice(0, -1));
  }
  return out;
}

/**
 * CommonGen concept coverage: the share of the given concepts (comma-separated gold) that occur in the
 * sentence as a word or an inflection of one ("throws" covers "throw", "directly" does not cover "direct").
 */
export function commongenCoverage(response: string, concepts: string): number {
  const wanted = concepts
    .split(/[,\n]/)
    .map((c) => c.trim().toLowerCase())
    .filter(Boolean);
  if (!wanted.length) return 0;
  const forms = new Set<string>();
  for (const w of response.toLowerCase().match(/[a-z]+/g) ?? []) for (const f of baseForms(w)) forms.add(f);
  return wanted.filter((c) => forms.has(c)).length / wanted.length;
}
