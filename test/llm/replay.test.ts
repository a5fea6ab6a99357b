import assert from "node:assert/strict";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { importPath } from "../../src/data/import.ts";
import { Store } from "../../src/data/store.ts";
import { ReplayChatClient } from "../../src/llm/replay.ts";
import { formatPrompt } from "../../src/scoring/prompts.ts";
import { scoreResponse } from "../../src/scoring/score.ts";
import { REPO, tempDb } from "../helpers.ts";

let store: Store;
before(async () => {
  store = new Store(tempDb());
  await importPath(store, join(REPO, "data/routeprofile"), {});
});
after(() => store.close());

test("replay answers with the recorded response, tokens and cost of that model", async () => {
  const replay = new ReplayChatClient(store);
  const q = store.queries().find((x) => x.task === "arc_challenge");
  assert.ok(q);
  const recorded = store.outcomesForQuery(q.id).find((o) => o.model === "gemma-2-9b-it");
  assert.ok(recorded);
  const r = await replay.chat({ model: "gemma-2-9b-it", messages: [{ role: "user", content: q.text }] });
  assert.equal(r.content, recorded.response);
  assert.equal(r.inputTokens, recorded.inputTokens);
  assert.equal(r.outputTokens, recorded.outputTokens);
  assert.equal(r.cost, recorded.cost);
  assert.equal(r.cached, true);
});

test("a FusionBench-formatted prompt finds its query; scoring the replayed answer reproduces the stored score", async () => {
  const replay = new ReplayChatClient(store, { dataset: "routeprofile" });
  let checked = 0;
  for (const q of store
    .queries()
    .filter((x) => ["mmlu", "gsm8k", "natural_qa"].includes(x.task))
    .slice(0, 30)) {
    const prompt = formatPrompt(
      { task: q.task, metric: q.metric ?? "", query: q.text, choices: q.choices, groundTruth: q.groundTruth },
      "direct",
    );
    const r = await replay.chat({ model: "llama-3.3-70b-instruct", messages: [{ role: "user", content: prompt }] });
    const stored = store.outcomesForQuery(q.id).find((o) => o.model === "llama-3.3-70b-instruct");
    assert.equal(r.content, stored?.response);
    // RouteProfile's natural_qa scores were computed with cem (see test/scoring/agreement.test.ts).
    const metric = q.task === "natural_qa" ? "cem" : (q.metric ?? "");
    const s = await scoreResponse({ task: q.task, metric, query: q.text, groundTruth: q.groundTruth ?? "" }, r.content);
    assert.equal(s.score, stored?.performance);
    checked++;
  }
  assert.equal(checked, 30);
});

test("streaming replay yields the recorded text in pieces", async () => {
  const replay = new ReplayChatClient(store);
  const q = store.queries().find((x) => x.task === "gsm8k");
  assert.ok(q);
  let text = "";
  let deltas = 0;
  let done = false;
  for await (const ev of replay.chatStream({
    model: "qwen2.5-7b-instruct",
    messages: [{ role: "user", content: q.text }],
  })) {
    if (ev.type === "delta") {
      text += ev.content;
      deltas++;
    } else done = true;
  }
  assert.ok(done && deltas > 5);
  assert.equal(text, store.outcomesForQuery(q.id).find((o) => o.model === "qwen2.5-7b-instruct")?.response);
});

test("missing answers are clear errors: unknown prompt, unknown model, think mode not recorded", async () => {
  const replay = new ReplayChatClient(store);
  const ask = (model: string, content: string) => replay.chat({ model, messages: [{ role: "user", content }] });
  await assert.rejects(
    ask("gemma-2-9b-it", "a prompt nobody recorded"),
    /replay: no stored query matches this prompt for model "gemma-2-9b-it" in direct mode/,
  );
  const q = store.queries()[0];
  assert.ok(q);
  await assert.rejects(ask("gpt-9", q.text), /the query was found .* has no recorded response of model "gpt-9"/);
  await assert.rejects(ask("gemma-2-9b-it_think", q.text), /model "gemma-2-9b-it" in think mode/);
});
