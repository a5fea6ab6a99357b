import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { entryPointOf, extractCode, humanEvalProgram, runPython } from "../../src/scoring/code-eval.ts";
import { CodeExecDisabledError, scoreResponse } from "../../src/scoring/score.ts";
import { REPO } from "../helpers.ts";

const FIX = join(REPO, "test/fixtures/scoring");
const jsonl = (f: string) =>
  readFileSync(join(FIX, f), "utf8")
    .split("\n")
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
const HE = jsonl("humaneval_5.jsonl");
const MBPP = jsonl("mbpp_5.jsonl");
const ON = { allowCodeExec: true, codeLimits: { timeoutMs: 5000, memoryMb: 256 } };

function heItem(p: Record<string, unknown>) {
  return {
    task: "human_eval",
    metric: "code_eval",
    query: String(p.prompt),
    groundTruth: String(p.test),
    taskId: String(p.task_id),
  };
}

test("extractCode takes [BEGIN]..[DONE], any case, with or without a fence", () => {
  assert.equal(extractCode("x [BEGIN]\ndef f():\n  return 1\n[Done] y"), "def f():\n  return 1");
  assert.equal(extractCode("[BEGIN]\n```python\nprint(1)\n```\n[DONE]"), "print(1)");
  assert.equal(extractCode("```py\nx = 1\n```"), "x = 1");
  assert.equal(entryPointOf("from typing import List\n\ndef helper(x):\n    pass\n\ndef main(y):\n"), "main");
});

test("HumanEval canonical solutions pass; the entry point comes from the prompt", async () => {
  for (const p of HE) {
    const r = await scoreResponse(heItem(p), `[BEGIN]\n${String(p.canonical_solution)}\n[DONE]`, ON);
    assert.equal(r.score, 1, `${String(p.task_id)}: ${r.detail}`);
  }
});

test("HumanEval: a body at column 0, an indented body and a full def all work; a wrong answer fails", async () => {
  const p = HE.find((x) => x.task_id === "HumanEval/8") as Record<string, unknown>;
  const bodies = [
    "[BEGIN]\nsum_total = 0\nproduct_total = 1\n\nfor n in numbers:\n    sum_total += n\n    product_total *= n\n\nreturn sum_total, product_total\n[Done]",
    "[BEGIN]\n    s = 0\n    p = 1\n    for n in numbers:\n        s += n\n        p *= n\n    return (s, p)\n[Done]",
    "[BEGIN]\ndef sum_product(numbers: List[int]) -> Tuple[int, int]:\n    import math\n    return sum(numbers), math.prod(numbers)\n[Done]",
  ];
  for (const b of bodies) assert.equal((await scoreResponse(heItem(p), b, ON)).score, 1, b);
  const wrong = await scoreResponse(heItem(p), "[BEGIN]\nreturn (0, 0)\n[DONE]", ON);
  assert.equal(wrong.score, 0);
  assert.match(wrong.detail, /failed \(exit 1\).*AssertionError/s);
  // The program really is prompt + completion + test + check(entry point).
  assert.match(
    humanEvalProgram("def f(x):\n", "[BEGIN]return x[DONE]", "def check(c):\n    assert c(1) == 1", "f"),
    /check\(f\)\n$/,
  );
});

test("MBPP reference solutions pass against the test list (a Python literal); a wrong one fails", async () => {
  for (const p of MBPP) {
    const item = {
      task: "mbpp",
      metric: "code_eval",
      query: String(p.text),
      groundTruth: JSON.stringify(p.test_list),
      taskId: String(p.task_id),
    };
    const r = await scoreResponse(item, `[BEGIN]\n${String(p.code)}\n[DONE]`, ON);
    assert.equal(r.score, 1, `${String(p.task_id)}: ${r.detail}`);
  }
  const p = MBPP[0] as Record<string, unknown>;
  const pyList = `[${(p.test_list as string[]).map((t) => `'${t.replace(/'/g, "\\'")}'`).join(", ")}]`;
  const item = { task: "mbpp", metric: "code_eval", query: String(p.text), groundTruth: pyList, taskId: "2" };
  assert.equal((await scoreResponse(item, `[BEGIN]\n${String(p.code)}\n[DONE]`, ON)).score, 1);
  assert.equal((await scoreResponse(item, "[BEGIN]\ndef similar_elements(a, b):\n    return ()\n[DONE]", ON)).score, 0);
});

test("limits: an endless loop is killed at the time limit, a memory hog at the memory limit", async () => {
  const t0 = performance.now();
  const loop = await runPython("while True:\n    pass\n", { timeoutMs: 700, memoryMb: 256 });
  assert.equal(loop.passed, false);
  assert.match(loop.status, /timed out|killed by SIGXCPU|killed by SIGKILL/);
  assert.ok(performance.now() - t0 < 5000);
  const hog = await runPython("x = bytearray(600 * 1024 * 1024)\n", { timeoutMs: 5000, memoryMb: 256 });
  assert.equal(hog.passed, false);
  assert.match(hog.stderr, /MemoryError/);
  const ok = await runPython("import os\nassert os.getcwd().split('/')[-1].startswith('fusionkit-code-')\n");
  assert.equal(ok.passed, true, ok.stderr);
});

test("code_eval is refused unless code execution was allowed", async () => {
  const p = HE[0] as Record<string, unknown>;
  await assert.rejects(scoreResponse(heItem(p), "[BEGIN]pass[DONE]"), CodeExecDisabledError);
  await assert.rejects(scoreResponse(heItem(p), "[BEGIN]pass[DONE]"), /pass --allow-code-exec/);
});
