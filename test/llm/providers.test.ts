import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { loadProviders, parseProviders, resolveModel } from "../../src/llm/providers.ts";
import { REPO, tempDir } from "../helpers.ts";

const GOOD = `
providers:
  - name: local
    baseUrl: http://127.0.0.1:8000/v1/
models:
  - name: small
    provider: local
    upstreamId: Qwen/Qwen2.5-7B-Instruct
    inputPrice: 0.2
    outputPrice: 0.2
    capabilities: { tools: true }
`;

test("a minimal providers file gets defaults and a trailing-slash-free base URL", () => {
  const c = parseProviders(GOOD, "p.yaml");
  const { model, provider } = resolveModel(c, "small");
  assert.equal(provider.baseUrl, "http://127.0.0.1:8000/v1");
  assert.equal(provider.maxConcurrency, 4);
  assert.equal(provider.retries, 4);
  assert.equal(provider.apiKeyEnv, undefined);
  assert.deepEqual(model.capabilities, { tools: true, images: false, reasoning: false });
});

test("the example providers file shipped in examples/ is valid", () => {
  const c = loadProviders(join(REPO, "examples/providers.yaml"));
  assert.ok(c.models.size >= 3);
  for (const p of c.providers.values()) assert.match(p.apiKeyEnv ?? "X", /^[A-Z_][A-Z0-9_]*$/);
});

test("JSON providers files work too", () => {
  const dir = tempDir();
  const file = join(dir, "p.json");
  writeFileSync(
    file,
    JSON.stringify({
      providers: [{ name: "o", baseUrl: "https://api.openai.com/v1", apiKeyEnv: "OPENAI_API_KEY" }],
      models: [{ name: "gpt", provider: "o", upstreamId: "gpt-4o-mini", inputPrice: 0.15, outputPrice: 0.6 }],
    }),
  );
  assert.equal(resolveModel(loadProviders(file), "gpt").provider.name, "o");
});

test("errors name the file, the line and the field path", () => {
  const bad = (text: string) => () => parseProviders(text, "bad.yaml");
  assert.throws(
    bad(GOOD.replace("outputPrice: 0.2", "outputPrice: -1")),
    /^DataError: bad\.yaml:line 10, field "models\[0\]\.outputPrice": Too small/,
  );
  assert.throws(
    bad(GOOD.replace("    upstreamId: Qwen/Qwen2.5-7B-Instruct\n", "")),
    /bad\.yaml:line 6, field "models\[0\]\.upstreamId": .*expected string/,
  );
  assert.throws(
    bad(GOOD.replace("provider: local", "provider: remote")),
    /line 7, field "models\[0\]\.provider": unknown provider "remote"/,
  );
  assert.throws(
    bad(GOOD.replace("baseUrl:", "apiKeyEnv: sk-abc123\n    baseUrl:")),
    /field "providers\[0\]\.apiKeyEnv": must be an environment variable NAME/,
  );
  assert.throws(bad(GOOD.replace("baseUrl: http://", "baseUrl: ftp://")), /field "providers\[0\]\.baseUrl"/);
  assert.throws(bad(GOOD.replace("  - name: small", "  - nmae: small")), /models\[0\]/);
  assert.throws(bad("providers: [\n  {name: x"), /bad\.yaml:line \d+: not valid YAML\/JSON/);
  assert.throws(bad("# nothing\n"), /bad\.yaml:line 1: the providers file is empty/);
  assert.throws(() => loadProviders("/nonexistent/providers.yaml"), /cannot read providers file \/nonexistent/);
});
