import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import Database from "better-sqlite3";
import { REPO, tempDir } from "../helpers.ts";
import type { FakeModel, FakeStep } from "../support/fake-openai.ts";
import { startFakeProcess, startGatewayProcess } from "./support/procs.ts";
import { writeFixedOrderRouter } from "./support/router.ts";

/**
 * Chaos test (issue 8), bounded to 60 s: a real gateway process in front of two fake-upstream processes that
 * misbehave (5xx quoting their key, dropped connections, 200 with HTML, SSE error events quoting the key, slow
 * replies, a provider configured with a wrong key that the upstream quotes back), loaded by concurrent clients
 * (plain and streamed), while `fusionkit import` writes a dataset into the gateway's database and the gateway
 * is sent SIGHUP (router reload). It asserts the process lives (restarts 0), every answered request is logged
 * exactly once, and no upstream key appears in any reply, log line or the store; it prints those figures.
 */

const CLIENTS = 8;
const LIMIT_MS = 60_000;
/** Load lasts this long, or less when the import finishes first (but at least LOAD_MIN_MS). */
const LOAD_MAX_MS = 15_000;
const LOAD_MIN_MS = 8_000;
/** What shutdown and the checks need at the end; an import still running then is stopped (it is the slow part). */
const TAIL_MS = 8_000;

/** A script of faults, one step per request, cycling: most requests fail somewhere. */
function chaoticSteps(key: string, reply: string): FakeStep[] {
  const steps: FakeStep[] = [];
  for (let i = 0; i < 40; i++)
    switch (i % 8) {
      case 0:
        steps.push({ status: 500, message: `upstream exploded while checking key ${key}` });
        break;
      case 1:
        steps.push({ failAfterChunks: 1, reply: `${reply} then dropped` });
        break;
      case 2:
        steps.push({ malformed: "html" });
        break;
      case 3:
        steps.push({ streamError: `quota exceeded for key Bearer ${key}`, afterChunks: i % 3 });
        break;
      case 4:
        steps.push({ reply, delayMs: 150 + (i % 5) * 40 });
        break;
      case 5:
        steps.push({ status: 429, retryAfter: 1, message: "slow down" });
        break;
      default:
        steps.push({ reply, chunkDelayMs: 5 });
    }
  return steps;
}

test("chaos: faulty upstreams, concurrent clients, an import and a SIGHUP; the gateway lives, logs all, leaks nothing", {
  timeout: LIMIT_MS,
}, async () => {
  const deadline = Date.now() + LIMIT_MS - TAIL_MS;
  const dir = tempDir();
  const db = join(dir, "store.db");
  const KEY_A = "sk-chaos-alpha-7c1e0b9d44";
  const KEY_B = "sk-chaos-beta-2a8f6d1e93";
  const KEY_WRONG = "sk-chaos-wrong-5e3b7a2c18";
  const secrets = [KEY_A, KEY_B, KEY_WRONG];
  const modelsA: Record<string, FakeModel> = {
    a1: { steps: chaoticSteps(KEY_A, "alpha one answers") },
    a2: { reply: "alpha two answers" },
  };
  const modelsB: Record<string, FakeModel> = {
    b1: { steps: chaoticSteps(KEY_B, "beta one answers").reverse() },
    b2: { reply: "beta two answers", chunkDelayMs: 2 },
  };
  const [fakeA, fakeB] = await Promise.all([
    startFakeProcess({ apiKey: KEY_A, models: modelsA }),
    startFakeProcess({ apiKey: KEY_B, models: modelsB }),
  ]);
  const providers = join(dir, "providers.yaml");
  writeFileSync(
    providers,
    `providers:
  - { name: alpha, baseUrl: ${fakeA.url}, apiKeyEnv: CHAOS_KEY_A, timeoutMs: 2000, maxConcurrency: 8 }
  - { name: beta, baseUrl: ${fakeB.url}, apiKeyEnv: CHAOS_KEY_B, timeoutMs: 2000, maxConcurrency: 8 }
  - { name: wrong, baseUrl: ${fakeA.url}, apiKeyEnv: CHAOS_KEY_WRONG, timeoutMs: 2000 }
models:
  - { name: a1, provider: alpha, upstreamId: a1, inputPrice: 1, outputPrice: 2 }
  - { name: a2, provider: alpha, upstreamId: a2, inputPrice: 1, outputPrice: 2 }
  - { name: b1, provider: beta, upstreamId: b1, inputPrice: 1, outputPrice: 2 }
  - { name: b2, provider: beta, upstreamId: b2, inputPrice: 1, outputPrice: 2 }
  - { name: w1, provider: wrong, upstreamId: a2, inputPrice: 1, outputPrice: 2 }
`,
  );
  const artifact = join(dir, "router.json");
  writeFixedOrderRouter(artifact, ["a1", "b1", "w1", "a2", "b2"]);
  const gw = await startGatewayProcess(
    [
      ...["--providers", providers, "--db", db, "--no-auth", "--router", artifact],
      ...["--breaker-threshold", "4", "--breaker-cooldown-ms", "300", "--shutdown-grace-ms", "5000"],
    ],
    { CHAOS_KEY_A: KEY_A, CHAOS_KEY_B: KEY_B, CHAOS_KEY_WRONG: KEY_WRONG },
  );
  // Restarts: times the gateway process ended without being asked to (a supervisor would have restarted it).
  let importer: ChildProcess | null = null;
  let restarts = 0;
  let stopping = false;
  gw.child.once("exit", () => {
    if (!stopping) restarts++;
  });
  try {
    /** request id → what the client saw; every one of these must be in gateway_exchanges exactly once. */
    const answered = new Map<string, { status: number; stream: boolean }>();
    const replies: string[] = [];
    const transportErrors: string[] = [];
    const statuses = new Map<number, number>();
    const started = Date.now();
    // The import runs alongside the load; the load lasts until it is done (between LOAD_MIN_MS and LOAD_MAX_MS).
    let importDone = false;
    const child = spawn(process.execPath, ["bin/fusionkit.js", "import", "data/llmrouter", "--db", db], {
      cwd: REPO,
      stdio: ["ignore", "pipe", "pipe"],
    });
    importer = child;
    let importOut = "";
    child.stdout.on("data", (d: Buffer) => {
      importOut += d.toString();
    });
    child.stderr.on("data", (d: Buffer) => {
      importOut += d.toString();
    });
    let importStopped = false;
    const importing = new Promise<number | null>((resolve) =>
      child.once("exit", (code) => {
        importDone = true;
        resolve(code);
      }),
    );
    const models = ["fusionkit/auto", "fusionkit/auto", "fusionkit/auto", "a1", "b1", "w1"];
    const client = async (c: number) => {
      for (let i = 0; ; i++) {
        const elapsed = Date.now() - started;
        if (elapsed > LOAD_MAX_MS || (elapsed > LOAD_MIN_MS && importDone)) return;
        const stream = (i + c) % 2 === 0;
        const model = models[(i * 7 + c) % models.length];
        try {
          const r = await fetch(`${gw.url}/v1/chat/completions`, {
            method: "POST",
            headers: { "content-type": "application/json", "x-session-id": `client-${c}` },
            body: JSON.stringify({
              model,
              stream,
              messages: [{ role: "user", content: `question ${i} from client ${c}: what is ${i} + ${c}?` }],
            }),
          });
          const text = await r.text();
          const id = r.headers.get("x-request-id");
          assert.ok(id, `reply without x-request-id: ${r.status} ${text.slice(0, 200)}`);
          answered.set(id, { status: r.status, stream });
          statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
          replies.push(`${JSON.stringify([...r.headers])}\n${text}`);
        } catch (e) {
          transportErrors.push(String((e as Error).cause ?? e));
        }
      }
    };
    const load = Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
    // Mid-load: reload the router artifacts (retrained file swapped in place), twice.
    await new Promise((r) => setTimeout(r, 1500));
    writeFixedOrderRouter(artifact, ["b1", "a1", "w1", "b2", "a2"]);
    gw.child.kill("SIGHUP");
    await new Promise((r) => setTimeout(r, 1500));
    gw.child.kill("SIGHUP");
    await load;
    // On a saturated machine the import can outlast the load; give it until the deadline, then stop it (its
    // transaction rolls back): what is tested is the gateway while the import writes, not the import's speed.
    const wait = setTimeout(
      () => {
        importStopped = !importDone;
        child.kill("SIGTERM");
      },
      Math.max(0, deadline - Date.now()),
    );
    const importCode = await importing;
    clearTimeout(wait);
    const health = await fetch(`${gw.url}/healthz`);
    assert.equal(health.status, 200, "the gateway answers after the chaos");
    const metrics = await (await fetch(`${gw.url}/metrics`)).text();
    replies.push(metrics);
    stopping = true;
    assert.equal(await gw.stop("SIGTERM"), 0, gw.stderr());

    const store = new Database(db, { readonly: true });
    const rows = store.prepare("SELECT * FROM gateway_exchanges").all() as Record<string, unknown>[];
    const queries = (store.prepare("SELECT COUNT(*) AS n FROM queries").get() as { n: number }).n;
    store.close();
    const logged = new Map<string, number>();
    for (const r of rows) logged.set(String(r.request_id), (logged.get(String(r.request_id)) ?? 0) + 1);
    const missing = [...answered.keys()].filter((id) => !logged.has(id));
    const extra = [...logged.keys()].filter((id) => !answered.has(id));
    const twice = [...logged.values()].filter((n) => n > 1).length;

    // Secrets: every reply (headers and body), every log line, every exchange row, and the raw database files.
    const haystacks = [
      ...replies,
      gw.stdout(),
      gw.stderr(),
      importOut,
      JSON.stringify(rows),
      ...[db, `${db}-wal`].filter(existsSync).map((f) => readFileSync(f).toString("latin1")),
    ];
    let secretsFound = 0;
    for (const h of haystacks) for (const s of secrets) if (h.includes(s)) secretsFound++;

    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    process.stdout.write(
      `chaos: requests answered ${answered.size}, requests logged ${rows.length}, restarts ${restarts}, secrets found ${secretsFound}` +
        ` (load ${seconds} s, ${CLIENTS} clients; statuses ${JSON.stringify(Object.fromEntries(statuses))};` +
        ` transport errors ${transportErrors.length}; import ${importStopped ? "stopped at the deadline" : `exit ${importCode}`}, ${queries} queries stored)\n`,
    );
    if (!importStopped) {
      assert.equal(importCode, 0, `the import ran to completion alongside the gateway: ${importOut}`);
      assert.ok(queries > 0);
    }
    assert.equal(transportErrors.length, 0, transportErrors.slice(0, 3).join("; "));
    assert.ok(answered.size >= 50, `enough load: ${answered.size} requests`);
    assert.ok(
      (statuses.get(200) ?? 0) > 0 && [...statuses.keys()].some((s) => s >= 500),
      "both successes and failures",
    );
    assert.deepEqual(missing, [], "every answered request is logged");
    assert.deepEqual(extra, [], "nothing is logged that was not answered");
    assert.equal(twice, 0);
    assert.equal(rows.length, answered.size);
    assert.equal(restarts, 0);
    assert.equal(secretsFound, 0, "no upstream key in any reply, log line or store row");
    assert.match(gw.stderr(), /reloaded router artifacts[\s\S]*reloaded router artifacts/);
  } finally {
    stopping = true;
    importer?.kill("SIGKILL");
    await gw.stop("SIGKILL");
    await Promise.all([fakeA.stop(), fakeB.stop()]);
  }
});
