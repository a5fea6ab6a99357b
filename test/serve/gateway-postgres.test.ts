import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import OpenAI from "openai";
import pg from "pg";
import { tempDir } from "../helpers.ts";
import { freshDatabase, PG_SKIP } from "../support/postgres.ts";
import { type Proc, runCli, startFakeProcess, startGatewayProcess } from "./support/procs.ts";
import { MATH, POEM, twoKindsJsonl } from "./support/two-kinds.ts";

/**
 * Two gateway replicas on one PostgreSQL database (one of them with two worker processes): requests
 * alternate between them, plain and streamed, in sessions; both stop gracefully; the log holds exactly one
 * row per request; every session stayed on one model across replicas; a router trained and published after
 * start (`fusionkit train --publish`) is served by both after the notification.
 */
describe("two gateway replicas on one PostgreSQL database (real processes)", { skip: PG_SKIP }, () => {
  const dir = tempDir();
  let db: Awaited<ReturnType<typeof freshDatabase>>;
  let fake: Awaited<ReturnType<typeof startFakeProcess>>;
  const gws: Proc[] = [];
  let clients: OpenAI[] = [];
  let providers = "";
  let sent = 0;

  /** Train knn on a store holding `data` and publish it to PostgreSQL as "demo/knn". */
  async function trainAndPublish(name: string, data: string): Promise<void> {
    const file = join(dir, `${name}.jsonl`);
    writeFileSync(file, data);
    const store = join(dir, `${name}.db`);
    const imp = await runCli(["import", file, "--db", store]);
    assert.equal(imp.code, 0, imp.stderr);
    const args = ["train", "--db", store, "--router", "knn", "--embedder", "hash", "--param", "k=3"];
    const tr = await runCli([...args, "--out", join(dir, `${name}.json`), "--publish", db.url]);
    assert.equal(tr.code, 0, tr.stderr);
    assert.match(tr.stdout, /published as "demo\/knn"/);
  }

  before(async () => {
    db = await freshDatabase();
    fake = await startFakeProcess({ models: { alpha: { reply: "from alpha" }, beta: { reply: "from beta" } } });
    providers = join(dir, "providers.yaml");
    writeFileSync(
      providers,
      `providers:\n  - name: fake\n    baseUrl: ${fake.url}\nmodels:\n` +
        "  - { name: alpha, provider: fake, upstreamId: alpha, inputPrice: 1, outputPrice: 1 }\n" +
        "  - { name: beta, provider: fake, upstreamId: beta, inputPrice: 1, outputPrice: 1 }\n",
    );
    // Router 1: alpha for arithmetic, beta for poems.
    await trainAndPublish(
      "first",
      twoKindsJsonl((m, isMath) => ((m === "alpha") === isMath ? 1 : 0)),
    );
    const key = JSON.parse((await runCli(["keys", "create", "--name", "t", "--db", db.url, "--json"])).stdout) as {
      key: string;
    };
    const common = ["--providers", providers, "--db", db.url, "--router", "demo/knn"];
    gws.push(await startGatewayProcess([...common, "--workers", "2"], {}, 120_000));
    gws.push(await startGatewayProcess([...common, "--workers", "1"], {}, 120_000));
    clients = gws.map((g) => new OpenAI({ baseURL: `${g.url}/v1`, apiKey: key.key, maxRetries: 0 }));
  });
  after(async () => {
    for (const g of gws) await g.stop();
    await fake?.stop();
    await db?.drop();
  });

  /** One request to replica `i % 2`; returns the model that served it and whether it was sticky. */
  async function ask(
    i: number,
    messages: { role: "user" | "assistant"; content: string }[],
    session: string | null,
  ): Promise<{ model: string; sticky: boolean; text: string }> {
    const client = clients[i % 2];
    const headers = session ? { "x-session-id": session } : undefined;
    const stream = i % 3 === 0;
    sent++;
    if (!stream) {
      const { data, response } = await client.chat.completions
        .create({ model: "fusionkit/auto", messages }, { headers })
        .withResponse();
      return {
        model: response.headers.get("x-fusionkit-model") ?? "",
        sticky: response.headers.get("x-fusionkit-sticky") === "1",
        text: data.choices[0].message.content ?? "",
      };
    }
    const { data, response } = await client.chat.completions
      .create({ model: "fusionkit/auto", messages, stream: true }, { headers })
      .withResponse();
    let text = "";
    for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? "";
    return {
      model: response.headers.get("x-fusionkit-model") ?? "",
      sticky: response.headers.get("x-fusionkit-sticky") === "1",
      text,
    };
  }

  test("alternating requests in sessions: each session keeps its first model on both replicas", async () => {
    // Without a session each query goes where the router sends it.
    assert.equal((await ask(0, [{ role: "user", content: MATH[0] }], null)).model, "alpha");
    assert.equal((await ask(1, [{ role: "user", content: POEM[0] }], null)).model, "beta");
    // Sessions opened with one kind of question, continued with the other kind, turns alternating replicas.
    const sessions = [
      { id: "s-math", first: MATH, next: POEM, model: "alpha" },
      { id: "s-poem", first: POEM, next: MATH, model: "beta" },
    ];
    let turn = 0;
    for (const s of sessions) {
      const messages: { role: "user" | "assistant"; content: string }[] = [{ role: "user", content: s.first[1] }];
      for (let t = 0; t < 6; t++) {
        const r = await ask(turn++, messages, s.id);
        assert.equal(r.model, s.model, `session ${s.id} turn ${t} (replica ${(turn - 1) % 2})`);
        assert.equal(r.text, `from ${s.model}`);
        if (t > 0) assert.ok(r.sticky, `session ${s.id} turn ${t} is sticky`);
        messages.push({ role: "assistant", content: r.text }, { role: "user", content: s.next[t + 2] });
      }
    }
  });

  test("a router published after start is served by every replica after the notification", async () => {
    const seen = gws.map((g) => g.stderr().length);
    // Router 2: beta is better at everything.
    await trainAndPublish(
      "second",
      twoKindsJsonl((m) => (m === "beta" ? 1 : 0)),
    );
    for (const [i, g] of gws.entries()) {
      const end = Date.now() + 20_000;
      while (!g.stderr().slice(seen[i]).includes("reloaded router artifacts (demo/knn published")) {
        if (Date.now() > end) throw new Error(`replica ${i} did not reload: ${g.stderr()}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    for (let i = 0; i < 6; i++)
      assert.equal((await ask(i, [{ role: "user", content: MATH[3 + i] }], null)).model, "beta", `request ${i}`);
  });

  test("stopped gracefully, the replicas logged exactly one exchange per request", async () => {
    for (const g of gws) assert.equal(await g.stop(), 0, g.stderr());
    const c = new pg.Client({ connectionString: db.url });
    await c.connect();
    try {
      const { rows } = await c.query<{ n: string; ids: string }>(
        "SELECT count(*) AS n, count(DISTINCT request_id) AS ids FROM gateway_exchanges",
      );
      assert.equal(Number(rows[0].n), sent);
      assert.equal(Number(rows[0].ids), sent);
      const sticky = await c.query<{ session: string; models: string }>(
        "SELECT session, count(DISTINCT served_model) AS models FROM gateway_exchanges WHERE session IS NOT NULL GROUP BY session",
      );
      assert.equal(sticky.rows.length, 2);
      for (const r of sticky.rows) assert.equal(Number(r.models), 1, `one model for ${r.session}`);
    } finally {
      await c.end();
    }
    const logged = gws.map((g) => Number(/stopped \((\d+) exchanges logged\)/.exec(g.stderr())?.[1]));
    assert.equal(
      logged.reduce((a, b) => a + b, 0),
      sent,
      "each replica counts what it wrote",
    );
  });
});
