import assert from "node:assert/strict";
import { test } from "node:test";
import { importPath } from "../../src/data/import.ts";
import { detectImporter } from "../../src/data/importers/index.ts";
import { Store } from "../../src/data/store.ts";
import { REPO, tempDb } from "../helpers.ts";
import { snapshot } from "./snapshot.ts";

const RP = `${REPO}/data/routeprofile`;

test("RouteProfile (bundled folder): 600 queries × 8 models with responses, tokens, cost from prices, no split", async () => {
  assert.equal((await detectImporter(RP)).format, "routeprofile");
  const store = new Store(tempDb());
  const s = await importPath(store, RP);
  assert.deepEqual([s.format, s.queriesAdded, s.outcomesAdded, s.modelsAdded], ["routeprofile", 600, 4800, 8]);
  const queries = store.queries();
  assert.ok(queries.every((q) => q.split === null));
  assert.equal(new Set(queries.map((q) => q.task)).size, 12);
  const mistral = store.model("mistral-small-24b-instruct-2501-bf16");
  assert.deepEqual([mistral?.inputPrice, mistral?.outputPrice, mistral?.size], [0.1, 0.3, "24B"]);
  const outs = store.outcomes();
  assert.ok(outs.every((o) => o.response !== null && o.inputTokens !== null && o.outputTokens !== null));
  for (const o of outs.filter((x) => x.model === "mistral-small-24b-instruct-2501-bf16"))
    assert.ok(Math.abs(o.cost - (0.1 * (o.inputTokens ?? 0) + 0.3 * (o.outputTokens ?? 0)) / 1e6) < 1e-15);
  // Multiple-choice choices are stored as JSON (the file has Python dict text).
  const mc = queries.find((q) => q.choices);
  assert.deepEqual(Object.keys(JSON.parse(mc?.choices ?? "{}")), ["text", "labels"]);

  // The JSON file alone finds its catalog in ../profile_data and maps to the same rows.
  const before = snapshot(store);
  const again = await importPath(store, `${RP}/route_data/routing_test_data.json`);
  assert.equal(again.outcomesUnchanged, 4800);
  assert.deepEqual(snapshot(store), before);
  store.close();
});
