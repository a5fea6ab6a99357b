import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { importPath } from "../../src/data/import.ts";
import { Store } from "../../src/data/store.ts";
import { createEmbedder } from "../../src/embed/registry.ts";
import { loadRouter, saveRouter, trainRouter } from "../../src/routing/artifacts.ts";
import { buildTrainingSet } from "../../src/routing/dataset.ts";
import { REPO, tempDir } from "../helpers.ts";
import { type Proc, runCli, startFakeProcess, startGatewayProcess } from "../serve/support/procs.ts";

/**
 * Issue 8 case 8: an artifact that does not fit its own embedder, dimension or candidate list, or whose knob or
 * scales are out of their domain, is refused on load with an error naming the file and the field — by `route`
 * (exit 2), by `serve` at start, and by a SIGHUP reload, which keeps serving with the old router.
 */

type Json = Record<string, unknown>;
const dir = tempDir();
const db = join(dir, "store.db");
const good: Record<string, string> = {};

before(async () => {
  // Real data: the bundled RouteProfile set (600 queries × 8 models); hashed n-grams keep training quick.
  const store = new Store(db);
  await importPath(store, join(REPO, "data/routeprofile"));
  const embedder = createEmbedder("hash");
  const data = await buildTrainingSet(store, { embedder });
  for (const name of ["knn", "linear", "best-per-task"]) {
    good[name] = join(dir, `${name}.json`);
    saveRouter(trainRouter(name, data, { embedder: embedder.name }), good[name] as string);
  }
  store.close();
});

function mutated(name: string, change: (a: Json) => void): string {
  const a = JSON.parse(readFileSync(good[name] as string, "utf8")) as Json;
  change(a);
  const path = join(dir, `${name}-bad-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(path, JSON.stringify(a));
  return path;
}

const candidates = (a: Json) => a.candidates as Json[];

const CASES: Array<[string, string, (a: Json) => void, RegExp]> = [
  ["knn", "embedder", (a) => Object.assign(a, { embedder: "hash-512" }), /512 dimensions.*expects 1024/],
  ["linear", "embedder", (a) => Object.assign(a, { embedder: "use-512" }), /512 dimensions.*expects 1024/],
  ["knn", "state", (a) => candidates(a).pop(), /another candidate list/],
  ["best-per-task", "state", (a) => candidates(a).push({ ...candidates(a)[0], key: "x", model: "x" }), /candidate/],
  ["knn", "candidates[1].key", (a) => Object.assign(candidates(a)[1] as Json, { key: "other" }), /not the key/],
  ["knn", "candidates[2].key", (a) => Object.assign(candidates(a)[2] as Json, candidates(a)[1]), /listed twice/],
  ["knn", "candidates[0].inputPrice", (a) => Object.assign(candidates(a)[0] as Json, { inputPrice: -1 }), /≥ 0/],
  ["knn", "knob", (a) => Object.assign(a, { knob: { lambda: -2 } }), /lambda ≥ 0/],
  ["knn", "knob", (a) => Object.assign(a, { knob: { scenario: "fastest" } }), /scenario/],
  [
    "knn",
    "scales.global.perfMin",
    (a) => Object.assign((a.scales as Json).global as Json, { perfMin: 2, perfMax: 1 }),
    /perfMin ≤ perfMax/,
  ],
  [
    "knn",
    "scales.perTask.gsm8k.costMin",
    (a) => Object.assign(((a.scales as Json).perTask as Json).gsm8k as Json, { costMin: null }),
    /finite/,
  ],
];

describe("artifacts are validated on load", () => {
  test("the trained artifacts themselves load", () => {
    for (const path of Object.values(good)) assert.ok(loadRouter(path).router);
  });

  for (const [router, field, change, problem] of CASES)
    test(`${router}: a bad ${field} (${problem.source}) is refused naming the file and the field`, () => {
      const path = mutated(router, change);
      assert.throws(
        () => loadRouter(path),
        (e: Error) => {
          assert.ok(e.message.startsWith(`${path}:line 1, field "${field}": `), e.message);
          assert.match(e.message, problem);
          return true;
        },
      );
    });

  test("route exits 2 with the message, no stack (also for an embedder this build does not know)", async () => {
    for (const embedder of ["hash-512", "word2vec"]) {
      const bad = mutated("knn", (a) => Object.assign(a, { embedder }));
      const r = await runCli(["route", "What is 2 + 2?", "--router-artifact", bad]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, new RegExp(`^fusionkit: ${bad}:line 1, field "embedder": `));
      assert.doesNotMatch(r.stderr, /\n\s+at /);
    }
  });
});

describe("serve refuses a bad artifact at start and keeps the old router on a bad reload", () => {
  let fake: Awaited<ReturnType<typeof startFakeProcess>>;
  let gw: Proc | null = null;
  const providers = join(dir, "providers.yaml");
  const artifact = join(dir, "served.json");

  before(async () => {
    const models = JSON.parse(
      readFileSync(join(REPO, "data/routeprofile/profile_data/candidate_models.json"), "utf8"),
    ) as Json;
    const names = Object.keys(models);
    fake = await startFakeProcess({ models: Object.fromEntries(names.map((n) => [n, { reply: `from ${n}` }])) });
    writeFileSync(
      providers,
      `providers:\n  - name: fake\n    baseUrl: ${fake.url}\nmodels:\n${names
        .map((n) => `  - { name: ${n}, provider: fake, upstreamId: ${n}, inputPrice: 1, outputPrice: 1 }\n`)
        .join("")}`,
    );
  });
  after(async () => {
    await gw?.stop();
    await fake.stop();
  });

  test("a bad artifact: serve exits 2 naming the file and field", async () => {
    const bad = mutated("knn", (a) => candidates(a).pop());
    const r = await runCli([
      "serve",
      "--port",
      "0",
      "--no-auth",
      "--db",
      db,
      "--providers",
      providers,
      "--router",
      bad,
    ]);
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${bad}:line 1, field "state": `));
    assert.doesNotMatch(r.stdout, /listening/);
  });

  test("SIGHUP with a bad artifact keeps the old router serving", async () => {
    writeFileSync(artifact, readFileSync(good.knn as string));
    gw = await startGatewayProcess(["--no-auth", "--db", db, "--providers", providers, "--router", artifact]);
    const ask = () =>
      fetch(`${gw?.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "fusionkit/auto", messages: [{ role: "user", content: "What is 7 × 6?" }] }),
      });
    const first = await ask();
    assert.equal(first.status, 200, await first.clone().text());
    const model = first.headers.get("x-fusionkit-model");

    writeFileSync(artifact, readFileSync(mutated("knn", (a) => Object.assign(a, { embedder: "hash-256" }))));
    const seen = gw.stderr().length;
    gw.child.kill("SIGHUP");
    // The operator log: JSON lines (their "msg") or plain lines, whichever this build writes.
    const messages = () =>
      gw
        ?.stderr()
        .slice(seen)
        .split("\n")
        .map((line) => {
          try {
            return String((JSON.parse(line) as { msg?: unknown }).msg ?? line);
          } catch {
            return line;
          }
        }) ?? [];
    const end = Date.now() + 20_000;
    const reloadFailure = () => messages().find((m) => /reload\b.*\bfailed/.test(m));
    while (!reloadFailure()) {
      assert.ok(Date.now() < end, `no reload message: ${gw.stderr().slice(seen)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    const failed = reloadFailure() as string;
    assert.match(failed, new RegExp(`failed, keeping the \\w+ \\w+: ${artifact}:line 1, field "embedder"`));
    const again = await ask();
    assert.equal(again.status, 200, await again.clone().text());
    assert.equal(again.headers.get("x-fusionkit-model"), model);
  });
});
