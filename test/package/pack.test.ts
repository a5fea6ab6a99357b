import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { distState } from "../../bin/dist-state.js";
import { createEmbedder } from "../../src/embed/registry.ts";
import { saveRouter, trainRouter } from "../../src/routing/artifacts.ts";
import { routeQuery } from "../../src/routing/route-query.ts";
import type { CandidateInfo, TrainingSet } from "../../src/routing/router.ts";
import { REPO, tempDir } from "../helpers.ts";

const cand = (key: string, price: number): CandidateInfo => ({
  key,
  model: key,
  mode: "direct",
  inputPrice: price,
  outputPrice: price,
  description: null,
});

/** A small real training set: "math" queries are solved by the dear model, "chat" queries by both. */
async function trainingSet(): Promise<TrainingSet> {
  const texts = [
    ...Array.from({ length: 6 }, (_, i) => `solve the equation ${i}x + ${i + 2} = ${3 * i} for x`),
    ...Array.from({ length: 6 }, (_, i) => `write a friendly greeting for my friend number ${i}`),
  ];
  const embeddings = await createEmbedder("hash").embed(texts);
  return {
    candidates: [cand("cheap", 0.1), cand("dear", 5)],
    queries: texts.map((text, i) => ({ text, embedding: embeddings[i], task: null })),
    performance: Float64Array.from(texts.flatMap((_, i) => (i < 6 ? [0, 1] : [1, 1]))),
    cost: Float64Array.from(texts.flatMap(() => [1e-5, 5e-4])),
    judge: null,
  };
}

test("npm pack → unpacked into an empty project → examples/route.ts imports { loadRouter, routeQuery } from 'fusionkit' and routes", async () => {
  if (distState(REPO) !== "current") execFileSync("npx", ["tsc", "-p", "tsconfig.build.json"], { cwd: REPO });
  const dir = tempDir();
  // --ignore-scripts: dist/ is current (built just above); `prepare` would build it again.
  const packed = JSON.parse(
    execFileSync("npm", ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], {
      cwd: REPO,
      encoding: "utf8",
    }),
  )[0] as { filename: string; files: { path: string }[] };
  const paths = packed.files.map((f) => f.path);
  assert.ok(paths.includes("dist/index.js") && paths.includes("dist/index.d.ts"), "compiled library in the tarball");
  assert.ok(!paths.some((p) => p.startsWith("src/") || p.startsWith("test/")), "no sources or tests in the tarball");

  // What `npm install <tarball>` does, without the registry (no network here): unpack the package into
  // node_modules/fusionkit and make its declared runtime dependencies — and nothing else: no tsx, no
  // typescript — resolvable, linked from this checkout's install.
  const project = join(dir, "project");
  const pkgDir = join(project, "node_modules/fusionkit");
  mkdirSync(pkgDir, { recursive: true });
  execFileSync("tar", ["xzf", join(dir, packed.filename), "-C", pkgDir, "--strip-components=1"]);
  const manifest = JSON.parse(readFileSync(join(pkgDir, "package.json"), "utf8")) as {
    dependencies: Record<string, string>;
  };
  for (const dep of Object.keys(manifest.dependencies)) {
    mkdirSync(join(project, "node_modules", dep, ".."), { recursive: true });
    symlinkSync(join(REPO, "node_modules", dep), join(project, "node_modules", dep));
  }
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "consumer", private: true, type: "module" }));

  const data = await trainingSet();
  const artifact = join(project, "router.json");
  const trained = trainRouter("knn", data, { embedder: "hash-1024", params: { k: 3 } });
  saveRouter(trained, artifact);
  const query = "solve the equation 7x + 1 = 15 for x";
  const expected = (await routeQuery(trained, query)).ranked.map((r) => r.key);

  // examples/route.ts as a user would run it: their own TypeScript runner (tsx), the installed package.
  const tsx = join(REPO, "node_modules/tsx/dist/esm/index.mjs");
  const out = execFileSync(process.execPath, ["--import", tsx, join(pkgDir, "examples/route.ts"), artifact, query], {
    cwd: project,
    encoding: "utf8",
  });
  assert.deepEqual(
    (JSON.parse(out) as { model: string }[]).map((r) => r.model),
    expected,
  );
  assert.equal(expected[0], "dear", "a math query goes to the model that solved the math queries");

  // The installed bin runs the compiled CLI (the package has no src/ and no tsx).
  const help = execFileSync(process.execPath, [join(pkgDir, "bin/fusionkit.js"), "--help"], { encoding: "utf8" });
  assert.match(help, /serve\s+OpenAI-compatible gateway/);
});
