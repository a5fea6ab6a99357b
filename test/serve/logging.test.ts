import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import OpenAI from "openai";
import pg from "pg";
import { parseServeConfig } from "../../src/serve/config.ts";
import type { Exchange } from "../../src/serve/log.ts";
import { exchangeAsLogged } from "../../src/serve/log-mode.ts";
import { luhn, redactJsonStrings, redactor, redactPersonalData } from "../../src/util/redact.ts";
import { tempDir } from "../helpers.ts";
import { freshDatabase, PG_SKIP } from "../support/postgres.ts";
import { startFakeProcess, startGatewayProcess } from "./support/procs.ts";

/**
 * Issue 12 item 6: what an exchange stores — `full`, `redacted` (personal data and keys masked) or `metadata`
 * (no text) — checked in the store a real gateway process wrote, and what feedback can still do in each mode.
 */

describe("personal-data masking (util/redact.ts)", () => {
  test("emails, phone numbers, Luhn-valid card numbers and key-shaped strings are masked", () => {
    const cases: Array<[string, string]> = [
      ["write to john.doe+x@example.co.uk today", "write to [email] today"],
      ["call +1 415 555 2671 or (415) 555-2671 or 415.555.2671", "call [phone] or [phone] or [phone]"],
      ["+44 20 7946 0958", "[phone]"],
      ["pay with 4111 1111 1111 1111 or 4242-4242-4242-4242", "pay with [card] or [card]"],
      ["key sk-proj-abcdefghijklmnop1234, AKIAIOSFODNN7EXAMPLE", "key [key], [key]"],
      ["Authorization: Bearer abcdefghijklmnopqrstuvwxyz012345", "Authorization: Bearer [key]"],
      [`token ghp_${"b".repeat(36)} and fk-${"a".repeat(43)}`, "token [key] and [key]"],
      ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U!", "[key]!"],
      ["-----BEGIN RSA PRIVATE KEY-----\nMIIEow\n-----END RSA PRIVATE KEY----- end", "[key] end"],
    ];
    for (const [text, masked] of cases) assert.equal(redactPersonalData(text), masked, text);
  });

  test("ordinary numbers, dates, versions and arithmetic are left alone", () => {
    for (const text of [
      "What is 17 × 23? Answer: 391.",
      "In 2024, 1234567890 people; version 3.14.159; date 2024-01-15; 10-20-30",
      "4111 1111 1111 1112 fails the Luhn check",
      "+5 points, 3+4=7, score +12.5, x^2 + 1",
      "a@b is not an address",
    ])
      assert.equal(redactPersonalData(text), text);
  });

  test("inside JSON, each string is masked on its own: escapes stay valid and do not hide an address", () => {
    const json = JSON.stringify([{ role: "user", content: "hi\njohn@x.com\n+1 415 555 2671" }]);
    assert.equal(redactPersonalData(json).includes("\\[email]"), true, "masking the raw JSON text breaks it");
    const masked = redactJsonStrings(json, redactPersonalData);
    assert.deepEqual(JSON.parse(masked), [{ role: "user", content: "hi\n[email]\n[phone]" }]);
    assert.equal(redactJsonStrings("not json: a@b.co", redactPersonalData), "not json: [email]");
  });

  test("Luhn on hand-checked numbers", () => {
    assert.equal(luhn("79927398713"), true);
    assert.equal(luhn("79927398710"), false);
    assert.equal(luhn("4111111111111111"), true);
  });
});

const row = (over: Partial<Exchange> = {}): Exchange => ({
  requestId: "r1",
  at: 1,
  keyId: null,
  session: "s1",
  requestedModel: "small",
  router: null,
  servedModel: "small",
  mode: "direct",
  query: "mail bob@example.com, key sk-up-secret-123456",
  request: '[{"role":"user","content":"mail bob@example.com"}]',
  response: "call +1 415 555 2671",
  inputTokens: 3,
  outputTokens: 4,
  cost: 1e-6,
  latencyMs: 10,
  ttfbMs: null,
  status: 200,
  error: "upstream said: bob@example.com",
  stream: false,
  attempts: 1,
  candidates: null,
  ...over,
});

describe("exchangeAsLogged", () => {
  const secrets = redactor(["sk-up-secret-123456"]);
  test("full keeps the text (upstream keys masked); redacted masks personal data; metadata keeps no text", () => {
    const full = exchangeAsLogged(row(), "full", secrets);
    assert.equal(full.query, "mail bob@example.com, key [redacted]");
    assert.equal(full.response, "call +1 415 555 2671");
    assert.equal(full.logMode, "full");
    const red = exchangeAsLogged(row(), "redacted", secrets);
    assert.equal(red.query, "mail [email], key [redacted]");
    assert.equal(red.request, '[{"role":"user","content":"mail [email]"}]');
    assert.equal(red.response, "call [phone]");
    assert.equal(red.error, "upstream said: [email]");
    const meta = exchangeAsLogged(row(), "metadata", secrets);
    assert.deepEqual(
      { query: meta.query, request: meta.request, response: meta.response, error: meta.error, mode: meta.logMode },
      { query: "", request: null, response: null, error: "upstream said: [email]", mode: "metadata" },
    );
    assert.deepEqual(
      [meta.inputTokens, meta.outputTokens, meta.cost, meta.status, meta.session, meta.servedModel],
      [3, 4, 1e-6, 200, "s1", "small"],
    );
  });

  test("the config's logging section; a bad mode is named with file, line and field", () => {
    const base =
      "providers:\n  - { name: p, baseUrl: http://127.0.0.1:9 }\nmodels:\n  - { name: m, provider: p, upstreamId: m, inputPrice: 1, outputPrice: 1 }\n";
    const ok = parseServeConfig(`${base}logging:\n  mode: metadata\n  retentionDays: 30\n`, "fk.yaml");
    assert.equal(ok.settings.logMode, "metadata");
    assert.equal(ok.settings.logRetentionDays, "30");
    assert.throws(
      () => parseServeConfig(`${base}logging:\n  mode: secret\n`, "fk.yaml"),
      /fk\.yaml.*line 6.*logging\.mode/s,
    );
  });
});

const PROMPT = "Email jane.roe@example.org or call +1 415 555 2671; card 4111 1111 1111 1111";
const REPLY = "I wrote to jane.roe@example.org";

interface Stored {
  query: string;
  request: string | null;
  response: string | null;
  input_tokens: number | null;
  cost: number | null;
  status: number;
  log_mode: string | null;
}

describe("logging modes over a real gateway process", () => {
  const dir = tempDir();
  let fake: Awaited<ReturnType<typeof startFakeProcess>>;
  let providers = "";
  before(async () => {
    fake = await startFakeProcess({ models: { small: { reply: REPLY } } });
    providers = join(dir, "providers.yaml");
    writeFileSync(
      providers,
      `providers:\n  - name: fake\n    baseUrl: ${fake.url}\nmodels:\n  - { name: small, provider: fake, upstreamId: small, inputPrice: 1, outputPrice: 2 }\n`,
    );
  });
  after(async () => {
    await fake?.stop();
  });

  /** Serve with `args`, send one plain and one streamed request and label the first; the feedback reply. */
  async function exchange(db: string, args: string[]): Promise<{ feedback: Record<string, unknown> }> {
    const gw = await startGatewayProcess(["--providers", providers, "--db", db, "--no-auth", ...args]);
    try {
      const client = new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: "none", maxRetries: 0 });
      const { data, response } = await client.chat.completions
        .create({ model: "small", messages: [{ role: "user", content: PROMPT }] })
        .withResponse();
      assert.equal(data.choices[0].message.content, REPLY, "the client gets the whole reply in every mode");
      const stream = await client.chat.completions.create({
        model: "small",
        stream: true,
        messages: [{ role: "user", content: PROMPT }],
      });
      for await (const _ of stream);
      const fb = await fetch(`${gw.url}/v1/feedback`, {
        method: "POST",
        body: JSON.stringify({ request_id: response.headers.get("x-request-id"), score: 0.8 }),
      });
      assert.equal(fb.status, 200, await fb.clone().text());
      return { feedback: (await fb.json()) as Record<string, unknown> };
    } finally {
      assert.equal(await gw.stop(), 0);
    }
  }

  const sqliteRows = (db: string): Stored[] => {
    const d = new Database(db, { readonly: true });
    const rows = d
      .prepare<[], Stored>(
        "SELECT query, request, response, input_tokens, cost, status, log_mode FROM gateway_exchanges ORDER BY at",
      )
      .all();
    d.close();
    return rows;
  };
  const sqliteCount = (db: string, sql: string): number => {
    const d = new Database(db, { readonly: true });
    const n = (d.prepare(sql).get() as { n: number }).n;
    d.close();
    return n;
  };

  test("full: the prompt and reply are stored as sent; the label becomes routing data", async () => {
    const db = join(dir, "full.db");
    const { feedback } = await exchange(db, []);
    const rows = sqliteRows(db);
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.equal(r.log_mode, "full");
      assert.equal(r.query, PROMPT);
      assert.ok(r.request?.includes("jane.roe@example.org"));
    }
    assert.equal(rows[0].response, REPLY);
    assert.match(String(feedback.query_id), /\S/);
    assert.equal(sqliteCount(db, "SELECT COUNT(*) AS n FROM outcomes"), 1);
  });

  test("redacted (two worker processes): personal data is masked in every stored text; labels still export", async () => {
    const db = join(dir, "redacted.db");
    const { feedback } = await exchange(db, ["--log-mode", "redacted", "--workers", "2"]);
    const rows = sqliteRows(db);
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.equal(r.log_mode, "redacted");
      assert.equal(r.query, "Email [email] or call [phone]; card [card]");
      assert.ok(r.request?.includes("Email [email] or call [phone]; card [card]"));
      const all = JSON.stringify(r);
      for (const secret of ["jane.roe", "415 555", "4111 1111"])
        assert.ok(!all.includes(secret), `${secret} in ${all}`);
      assert.ok(r.input_tokens && r.cost, "usage and cost are kept");
    }
    assert.equal(rows[0].response, "I wrote to [email]");
    assert.match(String(feedback.query_id), /\S/);
    const d = new Database(db, { readonly: true });
    assert.deepEqual(d.prepare("SELECT text FROM queries WHERE dataset = 'gateway'").all(), [
      { text: "Email [email] or call [phone]; card [card]" },
    ]);
    d.close();
  });

  test("metadata: no text at all; the label is stored but cannot become routing data", async () => {
    const db = join(dir, "metadata.db");
    const { feedback } = await exchange(db, ["--log-mode", "metadata"]);
    const rows = sqliteRows(db);
    assert.equal(rows.length, 2);
    for (const r of rows) {
      assert.deepEqual([r.query, r.request, r.response, r.log_mode], ["", null, null, "metadata"]);
      assert.equal(r.status, 200);
      assert.ok(r.input_tokens && r.cost);
    }
    const file = new Database(db, { readonly: true });
    const texts = file.prepare("SELECT * FROM gateway_exchanges").all();
    file.close();
    for (const secret of ["jane.roe", "555 2671", "4111 1111", "I wrote"])
      assert.ok(!JSON.stringify(texts).includes(secret), secret);
    assert.deepEqual(feedback, {
      object: "feedback",
      request_id: feedback.request_id,
      query_id: null,
      model: "small",
      performance: 0.8,
    });
    assert.equal(sqliteCount(db, "SELECT COUNT(*) AS n FROM gateway_feedback"), 1);
    assert.equal(sqliteCount(db, "SELECT COUNT(*) AS n FROM outcomes"), 0);
  });

  test("metadata on PostgreSQL: the same rows, the label kept", { skip: PG_SKIP }, async () => {
    const pgdb = await freshDatabase();
    try {
      const { feedback } = await exchange(pgdb.url, ["--log-mode", "metadata"]);
      assert.equal(feedback.query_id, null);
      const c = new pg.Client({ connectionString: pgdb.url });
      await c.connect();
      const { rows } = await c.query<Stored>(
        "SELECT query, request, response, input_tokens, cost, status, log_mode FROM gateway_exchanges",
      );
      const labels = await c.query("SELECT score FROM gateway_feedback");
      await c.end();
      assert.equal(rows.length, 2);
      for (const r of rows)
        assert.deepEqual([r.query, r.request, r.response, r.log_mode], ["", null, null, "metadata"]);
      assert.deepEqual(labels.rows, [{ score: 0.8 }]);
    } finally {
      await pgdb.drop();
    }
  });

  test("a bad --log-mode is a usage error naming the flag", async () => {
    await assert.rejects(
      startGatewayProcess(["--providers", providers, "--db", join(dir, "bad.db"), "--no-auth", "--log-mode", "secret"]),
      /--log-mode must be one of full, redacted, metadata, got "secret"/,
    );
  });
});
