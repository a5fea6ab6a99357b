/**
 * Routing data small enough to train in a second and clear enough for knn over hashed n-grams to separate:
 * arithmetic questions and poem requests, answered by models "alpha" and "beta".
 */
export const MATH = Array.from({ length: 10 }, (_, i) => `what is ${i + 3} plus ${2 * i + 5}? add the two numbers`);
export const POEM = Array.from(
  { length: 10 },
  (_, i) => `write a short poem about the sea and the moon, verse ${i + 1}`,
);

/** Canonical JSONL (dataset "demo", every query in train); `perf(model, isMath)` is each model's score. */
export function twoKindsJsonl(perf: (model: string, isMath: boolean) => number): string {
  const lines: object[] = [
    { kind: "model", name: "alpha", input_price: 1, output_price: 1 },
    { kind: "model", name: "beta", input_price: 1, output_price: 1 },
  ];
  [...MATH, ...POEM].forEach((text, i) => {
    const id = `q${i}`;
    lines.push({ kind: "query", id, dataset: "demo", task: "mixed", text, split: "train" });
    for (const model of ["alpha", "beta"])
      lines.push({
        kind: "outcome",
        query_id: id,
        model,
        performance: perf(model, i < MATH.length),
        input_tokens: 20,
        output_tokens: 20,
      });
  });
  return `${lines.map((l) => JSON.stringify(l)).join("\n")}\n`;
}
