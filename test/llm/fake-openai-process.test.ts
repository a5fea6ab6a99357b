import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { OpenAIChatClient } from "../../src/llm/client.ts";
import { parseProviders } from "../../src/llm/providers.ts";
import { REPO, tempDir } from "../helpers.ts";
import { providersYaml } from "../support/fake-openai.ts";

test("the fake OpenAI server runs as its own process, configured from a JSON file", async () => {
  const dir = tempDir();
  const cfg = join(dir, "fake.json");
  writeFileSync(
    cfg,
    JSON.stringify({ models: { m: { steps: [{ status: 503 }, { reply: "from another process" }] } } }),
  );
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "test/support/fake-openai.ts", "--port", "0", "--config", cfg],
    {
      cwd: REPO,
      stdio: ["ignore", "pipe", "inherit"],
    },
  );
  try {
    let out = "";
    child.stdout.setEncoding("utf8");
    while (!/listening (\S+)/.test(out)) {
      const [chunk] = (await once(child.stdout, "data")) as [string];
      out += chunk;
    }
    const url = (out.match(/listening (\S+)/) as RegExpMatchArray)[1] as string;
    const c = new OpenAIChatClient(parseProviders(providersYaml(url, ["m"]), "p.yaml"), {
      backoff: { baseDelayMs: 5, maxDelayMs: 10 },
    });
    const r = await c.chat({ model: "m", messages: [{ role: "user", content: "hello" }] });
    assert.equal(r.content, "from another process");
    const stats = (await (await fetch(url.replace(/\/v1$/, "/_fake/stats"))).json()) as {
      byModel: Record<string, number>;
    };
    assert.equal(stats.byModel.m, 2);
  } finally {
    child.kill("SIGTERM");
    await once(child, "exit");
  }
});
