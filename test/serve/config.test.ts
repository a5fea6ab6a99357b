import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { DataError } from "../../src/data/errors.ts";
import { mergeSettings, parseServeConfig, type ServeSettings } from "../../src/serve/config.ts";
import { tempDb, tempDir } from "../helpers.ts";
import { type FakeOpenAI, startFakeOpenAI } from "../support/fake-openai.ts";
import { runCli, startGatewayProcess } from "./support/procs.ts";
import { writeFixedOrderRouter } from "./support/router.ts";

/** Issue 12 items 1 and 2: one config file for `fusionkit serve`, written by `fusionkit init`, reloaded live. */

function configYaml(o: { url: string; models: string[]; router: string; db: string; variants?: string[] }): string {
  return [
    `store: ${JSON.stringify(o.db)}`,
    "listen: { port: 9 }",
    "providers:",
    "  - name: fake",
    `    baseUrl: ${o.url}`,
    "    retries: 0",
    "models:",
    ...o.models.flatMap((m) => [
      `  - name: ${m}`,
      "    provider: fake",
      `    upstreamId: up-${m}`,
      "    inputPrice: 1",
      "    outputPrice: 2",
    ]),
    "routers:",
    `  - artifact: ${JSON.stringify(o.router)}`,
    "variants:",
    ...(o.variants ?? ["cheap: cost-first"]).map((v) => `  ${v}`),
    "keys: { required: false }",
    "",
  ].join("\n");
}

describe("config file: validation names file, line and field", () => {
  const ok = configYaml({ url: "http://127.0.0.1:1/v1", models: ["a"], router: "r.json", db: "s.db" });

  test("a valid file maps to the serve settings; paths are relative to the file", () => {
    const c = parseServeConfig(ok, "/etc/fk/gw.yaml");
    assert.equal(c.settings.db, "/etc/fk/s.db");
    assert.equal(c.settings.port, "9");
    assert.deepEqual(c.settings.variant, ["cheap=cost-first"]);
    assert.equal(c.settings.auth, false);
    assert.deepEqual([...c.providers.models.keys()], ["a"]);
  });

  test("a wrong type, an unknown field and an unknown provider each name their line", () => {
    const bad = (text: string) => {
      try {
        parseServeConfig(text, "gw.yaml");
      } catch (e) {
        assert.ok(e instanceof DataError, String(e));
        return e.message;
      }
      assert.fail("expected an error");
    };
    assert.match(
      bad(ok.replace("    inputPrice: 1", '    inputPrice: "cheap"')),
      /^gw\.yaml:line 11, field "models\[0\]\.inputPrice": /,
    );
    assert.match(
      bad(ok.replace("keys: { required: false }", "keys: { required: false, budget: 3 }")),
      /^gw\.yaml:line 17, field "keys": Unrecognized key: "budget"/,
    );
    assert.match(
      bad(ok.replace("    provider: fake", "    provider: other")),
      /^gw\.yaml:line 9, field "models\[0\]\.provider": unknown provider "other"/,
    );
    assert.match(
      bad(`${ok}defaults: { scenario: balance, lambda: 3 }\n`),
      /field "defaults": give scenario or lambda, not both/,
    );
  });

  test("flags given on the command line win over the file; variants add up", () => {
    const flags = { port: "0", host: "127.0.0.1", variant: ["x=balance"], router: [] } as unknown as ServeSettings;
    const m = mergeSettings(flags, { port: "9", host: "0.0.0.0", variant: ["cheap=cost-first"] }, (k) => k === "port");
    assert.equal(m.port, "0");
    assert.equal(m.host, "0.0.0.0");
    assert.deepEqual(m.variant, ["cheap=cost-first", "x=balance"]);
  });
});

describe("fusionkit serve --config (real processes)", () => {
  let fake: FakeOpenAI;
  let dir: string;
  let router: string;
  before(async () => {
    fake = await startFakeOpenAI({
      models: { "up-a": { reply: "A" }, "up-b": { reply: "B" }, "up-c": { reply: "C" } },
    });
    dir = tempDir();
    router = join(dir, "router.json");
    writeFixedOrderRouter(router, ["a", "b", "c"]);
  });
  after(() => fake.close());

  test("serves the configured subset of the router's candidates, lists the rest once, reloads on change", async () => {
    const cfg = join(dir, "gw.yaml");
    writeFileSync(cfg, configYaml({ url: fake.url, models: ["b", "c"], router, db: tempDb() }));
    const gw = await startGatewayProcess(["--config", cfg]); // --port 0 (given) overrides listen.port 9
    try {
      assert.match(
        gw.stderr(),
        /router 'best-single': 1 of 3 candidates are not in .*gw\.yaml and are not served: a\n/,
      );
      const chat = async (model: string) =>
        fetch(`${gw.url}/v1/chat/completions`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ model, messages: [{ role: "user", content: "hello" }] }),
        });
      const r = await chat("fusionkit/auto");
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal(r.headers.get("x-fusionkit-model"), "b", "the best configured candidate");
      assert.doesNotMatch(r.headers.get("x-fusionkit-candidates") ?? "", /\ba;/);

      // A new variant appears without SIGHUP or restart.
      writeFileSync(
        cfg,
        configYaml({ url: fake.url, models: ["b", "c"], router, db: "x.db", variants: ["thrifty: cost-first"] }),
      );
      const ids = async () =>
        ((await (await fetch(`${gw.url}/v1/models`)).json()) as { data: Array<{ id: string }> }).data.map((m) => m.id);
      for (let i = 0; i < 400 && !(await ids()).includes("fusionkit/thrifty"); i++)
        await new Promise((s) => setTimeout(s, 50));
      assert.ok((await ids()).includes("fusionkit/thrifty"), gw.stderr());
      assert.ok(!(await ids()).includes("fusionkit/cheap"));
      assert.match(gw.stderr(), /changed db: restart the gateway to apply/);

      // An invalid edit is reported with file, line and field; the running config keeps serving.
      const text = readFileSync(cfg, "utf8");
      writeFileSync(cfg, text.replace("    outputPrice: 2", "    outputPrice: -2"));
      for (let i = 0; i < 400 && !/keeping the running config/.test(gw.stderr()); i++)
        await new Promise((s) => setTimeout(s, 50));
      assert.match(
        gw.stderr(),
        /failed, keeping the running config: .*gw\.yaml:line 12, field \\?"models\[0\]\.outputPrice\\?"/, // JSON log line
      );
      const again = await chat("fusionkit/thrifty");
      assert.equal(again.status, 200);
    } finally {
      await gw.stop();
    }
  });

  test("init writes a config that serves as written: every candidate with its price, the given upstream", async () => {
    const out = join(tempDir(), "fusionkit.yaml");
    const db = tempDb();
    const init = await runCli([
      "init",
      "--router",
      router,
      "--db",
      db,
      "--out",
      out,
      "--base-url",
      fake.url,
      "--api-key-env",
      "none",
    ]);
    assert.equal(init.code, 0, init.stderr);
    assert.match(init.stdout, /wrote .*fusionkit\.yaml: router .*router\.json, 3 models at /);
    const text = readFileSync(out, "utf8");
    for (const m of ["a", "b", "c"])
      assert.match(
        text,
        new RegExp(
          `- name: "${m}"\\n    provider: upstream\\n    upstreamId: "${m}"\\n    inputPrice: 1\\n    outputPrice: 2`,
        ),
      );
    // Written once; a second init does not overwrite it.
    const twice = await runCli(["init", "--router", router, "--db", db, "--out", out]);
    assert.equal(twice.code, 2);
    assert.match(twice.stderr, /exists; pass --force/);

    fake.setModel("a", { reply: "from a" });
    const gw = await startGatewayProcess(["--config", out]);
    try {
      const r = await fetch(`${gw.url}/v1/chat/completions`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ model: "fusionkit/auto", messages: [{ role: "user", content: "hi" }] }),
      });
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal(
        ((await r.json()) as { choices: Array<{ message: { content: string } }> }).choices[0].message.content,
        "from a",
      );
    } finally {
      await gw.stop();
    }
  });
});
