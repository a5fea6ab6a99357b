/**
 * Regenerate data/embeddings/<embedder>.bin: embed every distinct query text of the bundled data with
 * the default embedder (or the one named in argv[2]) and write the compact int8 file (bundled.ts).
 *
 *   node --import tsx src/embed/precompute-bundled.ts [embedder-spec] [--fresh]
 *
 * Vectors already in the existing file are reused (the embedder's name encodes its settings, so they are
 * still valid); --fresh recomputes everything.
 *
 * Texts (queries and model descriptions) come from importing each folder of data/ that an importer recognises into a temporary store
 * (exactly the texts `fusionkit import` stores), plus RouteProfile's raw `query` fields for when no
 * importer reads that folder yet.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { UsageError } from "../data/errors.ts";
import { importPath } from "../data/import.ts";
import { Store } from "../data/store.ts";
import { progress } from "../util/progress.ts";
import { BUNDLED_DIR, bundledPath, readBundled, writeBundled } from "./bundled.ts";
import { dot, textHash } from "./embedder.ts";
import { createEmbedder, DEFAULT_EMBEDDER } from "./registry.ts";

const DATA = resolve(import.meta.dirname, "../../data");

async function bundledTexts(): Promise<{ texts: string[]; sources: Record<string, number> }> {
  const dir = mkdtempSync(join(tmpdir(), "fusionkit-precompute-"));
  const store = new Store(join(dir, "store.db"));
  const sources: Record<string, number> = {};
  const texts = new Map<string, string>();
  try {
    for (const name of readdirSync(DATA, { withFileTypes: true })) {
      if (!name.isDirectory() || name.name === "embeddings") continue;
      try {
        await importPath(store, join(DATA, name.name), { dataset: name.name });
      } catch (err) {
        if (!(err instanceof UsageError)) throw err;
        continue; // no importer recognises this folder (yet); raw fallbacks below
      }
      const qs = store.queries({ dataset: name.name });
      sources[name.name] = qs.length;
      for (const q of qs) texts.set(textHash(q.text), q.text);
    }
    // Model descriptions too: buildTrainingSet embeds them for routers that use model nodes.
    for (const m of store.models()) if (m.description) texts.set(textHash(m.description), m.description);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
  const routeprofile = join(DATA, "routeprofile/route_data/routing_test_data.json");
  if (sources.routeprofile === undefined && existsSync(routeprofile)) {
    const rows = JSON.parse(readFileSync(routeprofile, "utf8")) as Array<{ query: string }>;
    sources["routeprofile (raw query field)"] = rows.length;
    for (const r of rows) texts.set(textHash(r.query), r.query);
  }
  return { texts: [...texts.values()], sources };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const embedder = createEmbedder(args.find((a) => !a.startsWith("--")) ?? DEFAULT_EMBEDDER);
  const file = bundledPath(embedder.name, BUNDLED_DIR);
  const previous: Map<string, Float32Array> =
    !args.includes("--fresh") && existsSync(file) ? readBundled(file).vectors : new Map();
  const { texts, sources } = await bundledTexts();
  const todo = texts.filter((t) => !previous.has(textHash(t)));
  process.stderr.write(
    `${texts.length} distinct texts from ${JSON.stringify(sources)}; ${texts.length - todo.length} reused, ` +
      `embedding ${todo.length} with ${embedder.name}\n`,
  );
  const t0 = performance.now();
  const bar = progress(`embedding (${embedder.name})`, todo.length);
  const computed = new Map<string, Float32Array>();
  for (let i = 0; i < todo.length; i += 256) {
    const chunk = todo.slice(i, i + 256);
    const vectors = await embedder.embed(chunk);
    for (let k = 0; k < chunk.length; k++) computed.set(textHash(chunk[k]), vectors[k]);
    bar.update(computed.size);
  }
  bar.stop();
  const seconds = (performance.now() - t0) / 1000;
  const entries = texts.map((t): [string, Float32Array] => {
    const h = textHash(t);
    return [h, computed.get(h) ?? (previous.get(h) as Float32Array)];
  });
  entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)); // stable file for identical input
  writeBundled(file, embedder.name, entries, { sources });
  // Quantisation check: cosine between each stored vector and the float32 original.
  const back = readBundled(file).vectors;
  let min = 1;
  let sum = 0;
  for (const [h, v] of entries) {
    const c = dot(v, back.get(h) as Float32Array);
    min = Math.min(min, c);
    sum += c;
  }
  process.stdout.write(
    `${file}: ${entries.length} × ${embedder.dim}; embedded ${todo.length} in ${seconds.toFixed(1)} s` +
      `${todo.length ? ` (${((seconds * 1000) / todo.length).toFixed(1)} ms/text)` : ""}; ` +
      `int8 vs float32 cosine mean ${(sum / entries.length).toFixed(6)}, min ${min.toFixed(6)}\n`,
  );
}

await main();
