import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { request } from "node:http";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { tempDir } from "../helpers.ts";
import { type Proc, runCli, startFakeProcess, startGatewayProcess } from "./support/procs.ts";
import { MATH, POEM, twoKindsJsonl } from "./support/two-kinds.ts";

/**
 * `fusionkit serve --workers 2` on SQLite: connections spread over the workers, the primary is the one log
 * writer (exactly one row per request), /metrics counts every worker, sessions keep their model whichever
 * worker a connection lands on, SIGHUP reloads every worker, SIGTERM drains in-flight requests first.
 */
interface Reply {
  status: number;
  model: string;
  sticky: boolean;
  body: string;
}

/** One request on a fresh connection (no keep-alive), so connections land on either worker. */
function post(url: string, path: string, body: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${url}${path}`,
      { method: "POST", agent: false, headers: { "content-type": "application/json", ...headers } },
      (res) => {
        let text = "";
        res.on("data", (d: Buffer) => {
          text += d.toString();
        });
        res.on("end", () =>
          resolve({
            status: res.statusCode ?? 0,
            model: String(res.headers["x-fusionkit-model"] ?? ""),
            sticky: res.headers["x-fusionkit-sticky"] === "1",
            body: text,
          }),
        );
      },
    );
    req.on("error", reject);
    req.end(JSON.stringify(body));
  });
}

describe("serve --workers 2 (real processes, SQLite)", () => {
  const dir = tempDir();
  const db = join(dir, "gateway.db");
  const artifact = join(dir, "router.json");
  let fake: Awaited<ReturnType<typeof startFakeProcess>>;
  let gw: Proc;
  let sent = 0;

  async function train(perf: (model: string, isMath: boolean) => number, name: string): Promise<void> {
    const file = join(dir, `${name}.jsonl`);
    writeFileSync(file, twoKindsJsonl(perf));
    const store = join(dir, `${name}.db`);
    const imp = await runCli(["import", file, "--db", store]);
    assert.equal(imp.code, 0, imp.stderr);
    const tr = await runCli([
      ...["train", "--db", store, "--router", "knn", "--embedder", "hash", "--param", "k=3"],
      ...["--out", artifact],
    ]);
    assert.equal(tr.code, 0, tr.stderr);
  }

  const chat = (content: string | { role: string; content: string }[], extra: object = {}, headers = {}) => {
    sent++;
    const messages = typeof content === "string" ? [{ role: "user", content }] : content;
    return post(gw.url, "/v1/chat/completions", { model: "fusionkit/auto", messages, ...extra }, headers);
  };

  before(async () => {
    fake = await startFakeProcess({
      models: { alpha: { reply: "from alpha" }, beta: { reply: "from beta" }, slow: { reply: "late", delayMs: 1500 } },
    });
    const providers = join(dir, "providers.yaml");
    writeFileSync(
      providers,
      `providers:\n  - name: fake\n    baseUrl: ${fake.url}\nmodels:\n` +
        "  - { name: alpha, provider: fake, upstreamId: alpha, inputPrice: 1, outputPrice: 1 }\n" +
        "  - { name: beta, provider: fake, upstreamId: beta, inputPrice: 1, outputPrice: 1 }\n" +
        "  - { name: slow, provider: fake, upstreamId: slow, inputPrice: 1, outputPrice: 1 }\n",
    );
    await train((m, isMath) => ((m === "alpha") === isMath ? 1 : 0), "first");
    // The default is one worker per core; this test asks for two whatever the machine.
    gw = await startGatewayProcess(
      ["--providers", providers, "--db", db, "--router", artifact, "--no-auth", "--workers", "2"],
      {},
      120_000,
    );
  });
  after(async () => {
    await gw?.stop();
    await fake?.stop();
  });

  test("requests on fresh connections: every one answered; /metrics counts all workers", async () => {
    assert.match(gw.stdout(), /workers: 2\)/);
    const replies = await Promise.all(
      Array.from({ length: 24 }, (_, i) => chat(i % 2 ? POEM[i % 10] : MATH[i % 10], { stream: i % 4 === 1 })),
    );
    for (const [i, r] of replies.entries()) {
      assert.equal(r.status, 200, r.body);
      assert.equal(r.model, i % 2 ? "beta" : "alpha");
    }
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    const served = Number(/fusionkit_requests_total\{route="chat",status="200"\} (\d+)/.exec(metrics)?.[1]);
    assert.equal(served, 24, "both workers' counts, merged");
    assert.match(metrics, /fusionkit_routed_share\{model="alpha"\} 0\.5\b/);
  });

  test("a session keeps its model on whichever worker serves it", async () => {
    const messages = [{ role: "user", content: MATH[1] }];
    for (let t = 0; t < 6; t++) {
      const r = await chat(messages, {}, { "x-session-id": "conv" });
      assert.equal(r.model, "alpha", `turn ${t}`);
      if (t > 0) assert.ok(r.sticky, `turn ${t} sticky`);
      messages.push({ role: "assistant", content: "from alpha" }, { role: "user", content: POEM[t] });
    }
  });

  test("SIGHUP reloads every worker", async () => {
    await train((m) => (m === "beta" ? 1 : 0), "second");
    const seen = gw.stderr().length;
    gw.child.kill("SIGHUP");
    const end = Date.now() + 20_000;
    while (!gw.stderr().slice(seen).includes("reloaded router artifacts")) {
      if (Date.now() > end) throw new Error(`no reload: ${gw.stderr()}`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(
      gw
        .stderr()
        .slice(seen)
        .match(/reloaded router artifacts/g)?.length,
      1,
      "one line for all workers",
    );
    const replies = await Promise.all(MATH.slice(0, 6).map((q) => chat(q)));
    for (const r of replies) assert.equal(r.model, "beta");
  });

  test("a client key's requests per minute hold for the whole gateway, not per worker", async () => {
    const keysDb = join(dir, "keys.db");
    const created = await runCli(["keys", "create", "--name", "limited", "--rpm", "3", "--db", keysDb, "--json"]);
    assert.equal(created.code, 0, created.stderr);
    const { key } = JSON.parse(created.stdout) as { key: string };
    const providers = join(dir, "providers.yaml");
    const keyed = await startGatewayProcess(
      ["--providers", providers, "--db", keysDb, "--router", artifact, "--workers", "2"],
      {},
      120_000,
    );
    try {
      // Fresh connections, one after another: the primary hands them to the workers in turn.
      const statuses: number[] = [];
      for (let i = 0; i < 6; i++) {
        const r = await post(
          keyed.url,
          "/v1/chat/completions",
          { model: "fusionkit/auto", messages: [{ role: "user", content: MATH[i] }] },
          { authorization: `Bearer ${key}` },
        );
        statuses.push(r.status);
        if (r.status === 429) assert.match(r.body, /rate_limit_requests/);
      }
      assert.deepEqual(statuses, [200, 200, 200, 429, 429, 429], "3 per minute in all, whichever worker");
      const metrics = await (
        await fetch(`${keyed.url}/metrics`, { headers: { authorization: `Bearer ${key}` } })
      ).text();
      assert.match(metrics, /fusionkit_key_rejections_total\{key="[^"]+",reason="rpm"\} 3\b/);
      assert.match(metrics, /fusionkit_key_spend_usd_total\{key="[^"]+"\} [0-9.e-]+/);
    } finally {
      assert.equal(await keyed.stop("SIGTERM"), 0, keyed.stderr());
    }
  });

  test("SIGTERM: in-flight requests finish, then exactly one logged exchange per request", async () => {
    const inFlight = Promise.all([0, 1, 2].map(() => chat("hi", { model: "slow" })));
    await new Promise((r) => setTimeout(r, 500));
    const exit = gw.stop("SIGTERM");
    for (const r of await inFlight) assert.equal(r.status, 200);
    assert.equal(await exit, 0, gw.stderr());
    const d = new Database(db, { readonly: true });
    const { n, ids } = d
      .prepare("SELECT count(*) AS n, count(DISTINCT request_id) AS ids FROM gateway_exchanges")
      .get() as { n: number; ids: number };
    d.close();
    assert.equal(n, sent);
    assert.equal(ids, sent);
    assert.match(gw.stderr(), new RegExp(`stopped \\(${sent} exchanges logged\\)`));
  });
});
