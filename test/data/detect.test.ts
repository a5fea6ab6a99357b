import assert from "node:assert/strict";
import { test } from "node:test";
import { detectImporter, IMPORTERS } from "../../src/data/importers/index.ts";
import { REPO, SHARED } from "../helpers.ts";

/** Each path is claimed by exactly one importer (detectImporter fails on none or several). */
const CASES: Array<[string, string]> = [
  ["data/llmrouter", "llmrouter"],
  ["data/routeprofile", "routeprofile"],
  ["data/routeprofile/route_data/routing_test_data.json", "routeprofile"],
  ["test/fixtures/fusionbench/parquet", "fusionbench"],
  ["test/fixtures/fusionbench/parquet/train.parquet", "fusionbench"],
  ["test/fixtures/fusionbench/csv", "fusionbench"],
  ["test/fixtures/fusionbench/jsonl/partial_test.jsonl", "fusionbench"],
  ["test/fixtures/llmrouter-nq/arrays", "llmrouter-nq"],
  ["test/fixtures/llmrouter-nq/pylists/nq6_routing.json", "llmrouter-nq"],
  ["test/fixtures/routellm", "routellm"],
  ["test/fixtures/routellm/mmlu", "routellm"],
  ["test/fixtures/routellm/gsm8k/gsm8k_responses.csv", "routellm"],
  ["test/fixtures/routerbench/csv", "routerbench"],
  ["test/fixtures/routerbench/parquet/routerbench.parquet", "routerbench"],
];

test("detection: every bundled set and fixture is claimed by exactly one importer", async () => {
  for (const [path, format] of CASES) {
    const claims = [];
    for (const imp of IMPORTERS) if (await imp.detect(`${REPO}/${path}`)) claims.push(imp.format);
    assert.deepEqual(claims, [format], path);
  }
});

test("detection: the real ../shared folders", { skip: !SHARED }, async () => {
  for (const [path, format] of [
    ["llmrouter", "llmrouter"],
    ["routeprofile", "routeprofile"],
    ["llmrouter-nq", "llmrouter-nq"],
    ["routellm", "routellm"],
    ["routellm/mmlu/responses", "routellm"],
  ])
    assert.equal((await detectImporter(`${SHARED}/data/${path}`)).format, format, path);
  // A model catalog and result tables are not routing data: no importer claims them.
  await assert.rejects(detectImporter(`${SHARED}/data/fusionbench`), /cannot tell the format/);
  await assert.rejects(detectImporter(`${SHARED}/data/llm-routing`), /cannot tell the format/);
});
