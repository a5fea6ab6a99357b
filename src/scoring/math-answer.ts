/**
 * MATH-style answer extraction and normalisation (Hendrycks et al.'s `last_boxed_only_string`,
 * `remove_boxed`, `strip_string`, as used by FusionBench/LLMRouter), so that "\boxed{\dfrac{1}{2}}",
 * "\boxed{1/2}" and "\boxed{0.5}" all compare equal.
 */

/** The last `\boxed{...}` (or `\fbox{...}`, or `\boxed x`) in the text, braces balanced; null when none. */
export function lastBoxed(text: string): string | null {
  if (text.includes("\\boxed ")) {
    const tail = text.split("\\boxed ").at(-1) ?? "";
    return `\\boxed ${tail.split("$")[0]}`;
  }
  let idx = text.lastIndexOf("\\boxed");
  if (idx < 0) idx = text.lastIndexOf("\\fbox");
  if (idx < 0) return null;
  let open = 0;
  for (let i = idx; i < text.length; i++) {
    if (text[i] === "{") open++;
    else if (text[i] === "}") {
      open--;
      if (open === 0) return text.slice(idx, i + 1);
    }
  }
  return null;
}

/** The content of a `\boxed{...}` string. */
export function unbox(s: string): string {
  if (s.startsWith("\\boxed ")) return s.slice("\\boxed ".length);
  for (const left of ["\\boxed{", "\\fbox{"])
    if (s.startsWith(left) && s.endsWith("}")) return s.slice(left.length, -1);
  return s;
}

function fixFracs(s: string): string {
  const parts = s.split("\\frac");
  let out = parts[0] ?? "";
  for (const sub of parts.slice(1)) {
    out += "\\frac";
    if (sub.startsWith("{")) {
      out += sub;
      continue;
    }
    if (sub.length < 2) return s;
    const a = sub[0];
    const b = sub[1];
    if (b !== "{") out += `{${a}}{${b}}${sub.slice(2)}`;
    else out += `{${a}}${b}${sub.slice(2)}`;
  }
  return out;
}

function fixASlashB(s: string): string {
  const parts = s.split("/");
  if (parts.length !== 2) return s;
  const [a, b] = parts as [string, string];
  if (!/^-?\d+$/.test(a) || !/^-?\d+$/.test(b)) return s;
  return `\\frac{${Number.parseInt(a, 10)}}{${Number.parseInt(b, 10)}}`;
}

function fixSqrt(s: string): string {
  if (!s.includes("\\sqrt")) return s;
  const parts = s.split("\\sqrt");
  let out = parts[0] ?? "";
  for (const sub of parts.slice(1)) {
    if (sub.length && sub[0] !== "{") out += `\\sqrt{${sub[0]}}${sub.slice(1)}`;
    else out += `\\sqrt${sub}`;
  }
  return out;
}

/** Hendrycks' strip_string, plus dollar signs and thousands separators (the recorded scores accept "$1,596"). */
export function normalizeMathAnswer(input: string): string {
  let s = input.replace(/\n/g, "");
  s = s.replaceAll("\\!", "");
  s = s.replaceAll("\\\\", "\\");
  s = s.replaceAll("tfrac", "frac").replaceAll("dfrac", "frac");
  s = s.replaceAll("\\left", "").replaceAll("\\right", "");
  s = s.replaceAll("^{\\circ}", "").replaceAll("^\\circ", "");
  s = s.replaceAll("\\$", "").replaceAll("$", "");
  if (s.includes("\\text{ ")) s = s.split("\\text{ ")[0] ?? "";
  s = s.replaceAll("\\%", "").replaceAll("%", "");
  s = s.replaceAll(" .", " 0.").replaceAll("{.", "{0.");
  if (s.length === 0) return s;
  if (s.startsWith(".")) s = `0${s}`;
  const eq = s.split("=");
  if (eq.length === 2 && (eq[0] ?? "").length <= 2) s = eq[1] ?? "";
  s = fixSqrt(s);
  s = s.replaceAll(" ", "");
  s = fixFracs(s);
  if (/^-?\d{1,3}(,\d{3})+(\.\d+)?$/.test(s)) s = s.replaceAll(",", "");
  if (/^-?\d+\.0+$/.test(s)) s = s.replace(/\.0+$/, "");
  if (s === "0.5") s = "\\frac{1}{2}";
  return fixASlashB(s);
}

export function mathEquivalent(a: string | null, b: string | null): boolean {
  if (a === null || b === null) return a === b;
  return normalizeMathAnswer(a) === normalizeMathAnswer(b);
}
