import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { Store } from "../../src/data/store.ts";
import { loadProviders } from "../../src/llm/providers.ts";
import { Breakers } from "../../src/serve/breaker.ts";
import { HttpError } from "../../src/serve/errors.ts";
import { type ClientGone, type Outcome, type Trace, tryCandidates } from "../../src/serve/fallback.ts";
import { loadRouters } from "../../src/serve/load.ts";
import { Metrics } from "../../src/serve/metrics.ts";
import { type PlanDeps, type Planned, planRequest } from "../../src/serve/plan.ts";
import { parseChatBody } from "../../src/serve/request.ts";
import { Sessions } from "../../src/serve/sessions.ts";
import { UpstreamFailure, UpstreamPool } from "../../src/serve/upstream.ts";
import { AUTO } from "../../src/serve/virtual.ts";
import { tempDir } from "../helpers.ts";
import { writeFixedOrderRouter } from "./support/router.ts";

/** Planning and fallback in-process: the decisions the gateway makes before and between upstream calls. */

describe("planning: ranking, filters, stickiness", () => {
  const dir = tempDir();
  let store: Store;
  let deps: PlanDeps;
  before(() => {
    const providers = join(dir, "providers.yaml");
    writeFileSync(
      providers,
      `providers:
  - name: p
    baseUrl: http://127.0.0.1:9/v1
models:
  - { name: small, provider: p, upstreamId: small, inputPrice: 1, outputPrice: 2, contextLength: 64 }
  - { name: tooly, provider: p, upstreamId: tooly, inputPrice: 1, outputPrice: 2, capabilities: { tools: true } }
  - { name: large, provider: p, upstreamId: large, inputPrice: 10, outputPrice: 20 }
`,
    );
    const artifact = join(dir, "r.json");
    writeFixedOrderRouter(artifact, ["small", "tooly", "large"]);
    store = new Store(join(dir, "store.db"));
    const router = loadRouters([artifact], store, 10).values().next().value;
    assert.ok(router);
    deps = {
      upstreams: new UpstreamPool(loadProviders(providers), {}),
      virtuals: new Map([[AUTO, { name: AUTO, router, knob: { scenario: "performance-first" } }]]),
      sessions: new Sessions(100, 60_000),
      routeOn: "conversation",
      routeChars: 2000,
      headerCandidates: 2,
      sessionTolerance: 0,
    };
  });
  after(() => store.close());
  const body = (extra: Record<string, unknown> = {}, content = "what is 2 + 2?") =>
    parseChatBody({ model: AUTO, messages: [{ role: "user", content }], ...extra });
  const models = (tried: Planned[]) => tried.map((t) => t.model);

  test("a virtual model plans the router's order, with the header listing the first candidates", async () => {
    const plan = await planRequest(deps, body(), {});
    assert.deepEqual(models(plan.tried), ["small", "tooly", "large"]);
    assert.equal(plan.router, "best-single;performance-first");
    const listed = (plan.candidatesHeader ?? "").split(", ");
    assert.equal(listed.length, 2, "headerCandidates");
    assert.match(listed[0], /^small;score=[0-9.]+;perf=[0-9.]+;cost=[0-9.e-]+$/);
    assert.equal(plan.query, "what is 2 + 2?");
  });

  test("allowed models, capabilities and max cost filter; an empty set is a 400 naming every reason", async () => {
    assert.deepEqual(models((await planRequest(deps, body({ fusionkit: { models: ["large"] } }), {})).tried), [
      "large",
    ]);
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
    assert.deepEqual(models((await planRequest(deps, body({ tools }), {})).tried), ["tooly"]);
    const long = body({ fusionkit: { models: ["small"] } }, "word ".repeat(200));
    await assert.rejects(
      planRequest(deps, long, {}),
      (e: Error) =>
        e instanceof HttpError && e.status === 400 && /small: context 64 tokens < \d+ needed/.test(e.message),
    );
    await assert.rejects(
      planRequest(deps, body({ fusionkit: { max_cost: 0 } }), {}),
      (e: Error) =>
        e instanceof HttpError &&
        /no candidate model can serve this request \(fusionkit\/auto\)/.test(e.message) &&
        (e.message.match(/> max_cost \$0/g) ?? []).length === 3,
    );
  });

  test("sessions within the tolerance are spread by their id; another process continuing one chooses alike", async () => {
    // The fixed-order router scores small 1, tooly 0.667, large 0.333: within 0.5 of the top, small and tooly.
    const spread = { ...deps, sessionTolerance: 0.5 };
    const firstTurn = [{ role: "user", content: "what is 2 + 2?" }];
    const seen = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const id = `conv-spread-${i}`;
      const plan = await planRequest({ ...spread, sessions: new Sessions(10, 60_000) }, body(), { "x-session-id": id });
      assert.equal(plan.sticky, false, "a first turn is not sticky");
      assert.ok(["small", "tooly"].includes(plan.tried[0].model), `${id}: ${plan.tried[0].model}`);
      assert.deepEqual(
        models(plan.tried).slice(1),
        ["small", "tooly", "large"].filter((m) => m !== plan.tried[0].model),
        "the rest in ranked order",
      );
      seen.set(id, plan.tried[0].model);
      // A later turn reaching a process that never saw the session: same model, from the id and the first turn.
      const later = await planRequest(
        { ...spread, sessions: new Sessions(10, 60_000) },
        body({
          messages: [...firstTurn, { role: "assistant", content: "4" }, { role: "user", content: "and 3 + 3?" }],
        }),
        { "x-session-id": id },
      );
      assert.equal(later.tried[0].model, plan.tried[0].model, `${id} turn 2 in another process`);
      assert.equal(later.sticky, true);
    }
    const counts = [...seen.values()].reduce((m, v) => m.set(v, (m.get(v) ?? 0) + 1), new Map<string, number>());
    assert.ok((counts.get("small") ?? 0) > 5 && (counts.get("tooly") ?? 0) > 5, JSON.stringify([...counts]));
  });

  test("a known session goes back to its model; an upstream name plans itself; an unknown name is a 404", async () => {
    deps.sessions.set(`${AUTO}\u0000conv-1`, "large");
    const plan = await planRequest(deps, body(), { "x-session-id": "conv-1" });
    assert.deepEqual(models(plan.tried), ["large", "small", "tooly"]);
    assert.equal(plan.sticky, true);
    const direct = await planRequest(
      deps,
      parseChatBody({ model: "tooly", messages: [{ role: "user", content: "x" }] }),
      {},
    );
    assert.deepEqual(direct.tried, [{ model: "tooly", mode: "direct", ranked: null }]);
    await assert.rejects(
      planRequest(deps, parseChatBody({ model: "nope", messages: [{ role: "user", content: "x" }] }), {}),
      (e: Error) => e instanceof HttpError && e.status === 404 && /model 'nope' does not exist/.test(e.message),
    );
  });
});

describe("fallback: candidates in order, breakers, the error the client gets", () => {
  const cands: Planned[] = ["a", "b", "c"].map((model) => ({ model, mode: "direct", ranked: null }));
  const ok = (model: string): Outcome => ({
    status: 200,
    model,
    mode: "direct",
    response: `I am ${model}`,
    inputTokens: 1,
    outputTokens: 1,
    cost: 0,
    ttfbMs: 1,
    error: null,
  });
  const open = (): ClientGone => ({ gone: false, shutdown: false, signal: new AbortController().signal });
  let now = 0;
  const setup = () => {
    now = 0;
    return { breakers: new Breakers({ threshold: 1, cooldownMs: 100, now: () => now }), metrics: new Metrics() };
  };

  test("a retryable failure moves on to the next candidate and is counted", async () => {
    const d = setup();
    const trace: Trace = { attempts: 0 };
    const served = await tryCandidates(d, cands, open(), trace, async (c) => {
      if (c.model === "a") throw new UpstreamFailure("status", "upstream returned 503", 503);
      if (c.model === "b") throw new UpstreamFailure("malformed", "upstream sent a body that is not JSON");
      return ok(c.model);
    });
    assert.equal(served.model, "c");
    assert.equal(served.attempts, 3);
    assert.equal(d.breakers.state("a"), "open");
    assert.match(await d.metrics.render(), /fusionkit_fallbacks_total\{model="a",reason="503"\} 1/);
    assert.match(await d.metrics.render(), /fusionkit_fallbacks_total\{model="b",reason="malformed"\} 1/);
    d.metrics.close();
  });

  test("the request's own rejection (400) is relayed at once with the upstream's message", async () => {
    const d = setup();
    const calls: string[] = [];
    await assert.rejects(
      tryCandidates(d, cands, open(), { attempts: 0 }, async (c) => {
        calls.push(c.model);
        throw new UpstreamFailure("status", "upstream returned 400", 400, '{"error":{"message":"bad tool schema"}}');
      }),
      (e: Error) =>
        e instanceof HttpError &&
        e.status === 400 &&
        e.code === "upstream_rejected" &&
        /bad tool schema/.test(e.message),
    );
    assert.deepEqual(calls, ["a"]);
    assert.equal(d.breakers.state("a"), "closed", "a client fault is no verdict on the upstream");
    d.metrics.close();
  });

  test("all rate limited is a 429; all failing a 502 naming each; all circuits open a 503 without a try", async () => {
    const d = setup();
    await assert.rejects(
      tryCandidates(d, cands, open(), { attempts: 0 }, async () => {
        throw new UpstreamFailure("status", "upstream returned 429", 429);
      }),
      (e: Error) => e instanceof HttpError && e.status === 429,
    );
    now = 1000; // past the cooldown: each circuit admits one probe
    await assert.rejects(
      tryCandidates(d, cands, open(), { attempts: 0 }, async (c) => {
        throw new UpstreamFailure("connect", `${c.model} refused`);
      }),
      (e: Error) =>
        e instanceof HttpError && e.status === 502 && /a: a refused; b: b refused; c: c refused/.test(e.message),
    );
    const trace: Trace = { attempts: 0 };
    await assert.rejects(
      tryCandidates(d, cands, open(), trace, async () => assert.fail("no candidate may be tried")),
      (e: Error) => e instanceof HttpError && e.status === 503 && e.code === "circuit_open",
    );
    assert.equal(trace.attempts, 0);
    d.metrics.close();
  });

  test("case 3: a try that throws before sending releases the half-open probe slot", async () => {
    const d = setup();
    d.breakers.failure("a"); // threshold 1: open
    now = 1000; // half-open: one probe admitted
    await assert.rejects(
      tryCandidates(d, cands.slice(0, 1), open(), { attempts: 0 }, async () => {
        throw new RangeError("Maximum call stack size exceeded");
      }),
      RangeError,
    );
    assert.equal(d.breakers.available("a"), true, "the probe slot is free again");
    const served = await tryCandidates(d, cands.slice(0, 1), open(), { attempts: 0 }, async (c) => ok(c.model));
    assert.equal(served.model, "a");
    assert.equal(d.breakers.state("a"), "closed");
    d.metrics.close();
  });

  test("shutdown ends the request with 503; a client that left gets a 499 record", async () => {
    const d = setup();
    const stopped: ClientGone = { ...open(), shutdown: true };
    await assert.rejects(
      tryCandidates(d, cands, stopped, { attempts: 0 }, async (c) => ok(c.model)),
      (e: Error) => e instanceof HttpError && e.status === 503 && e.code === "shutting_down",
    );
    const gone = open();
    const served = await tryCandidates(d, cands, gone, { attempts: 0 }, async () => {
      gone.gone = true;
      throw new UpstreamFailure("aborted", "client closed the connection");
    });
    assert.equal(served.status, 499);
    assert.equal(served.attempts, 1);
    assert.equal(d.breakers.state("a"), "closed", "no verdict on the upstream");
    d.metrics.close();
  });
});
