import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import Database from "better-sqlite3";
import { createEmbedder } from "../../src/embed/registry.ts";
import { toRouteQuery } from "../../src/routing/dataset.ts";
import { loadPolicy } from "../../src/routing/policy-artifacts.ts";
import { REPO, tempDir } from "../helpers.ts";
import { providersYaml } from "../support/fake-openai.ts";
import { type Proc, runCli, startFakeProcess, startGatewayProcess } from "./support/procs.ts";

/**
 * fusionkit/cascade and fusionkit/vote served by a real gateway process from artifacts trained by
 * `fusionkit train --policy` on RouteProfile, against a fake upstream process whose models reply with choice
 * letters (a multiple-choice task, so answers are extracted exactly). The cascade's chain for the request's task
 * is pinned in the artifact to "two cheap candidates, then a third": which chain training picks is the
 * evaluation's business; here each path of the serving loop must be exercised.
 */

const QUESTION = "Which planet is the largest? (A) Mars (B) Jupiter (C) Venus";

describe("gateway: multi-call policies", { timeout: 600_000 }, () => {
  const dir = tempDir();
  const db = join(dir, "store.db");
  let fake: Awaited<ReturnType<typeof startFakeProcess>>;
  let gw: Proc;
  let task = "";
  let stage1: string[] = [];
  let stage2 = "";
  let voters: Array<{ model: string; weight: number }> = [];
  let models: string[] = [];

  const ask = async (model: string, stream = false) => {
    const r = await fetch(`${gw.url}/v1/chat/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ model, stream, messages: [{ role: "user", content: QUESTION }], fusionkit: { task } }),
    });
    return { r, text: await r.text() };
  };
  const configure = (replies: Record<string, string | number>) =>
    fake.configure({
      models: Object.fromEntries(
        models.map((m) => {
          const v = replies[m] ?? "(C)";
          return [m, typeof v === "number" ? { steps: [{ status: v }] } : { reply: v }];
        }),
      ),
    });
  const callsOf = (r: Response) => (r.headers.get("x-fusionkit-calls") ?? "").split(", ").filter(Boolean);

  before(async () => {
    assert.equal((await runCli(["import", join(REPO, "data/routeprofile"), "--db", db])).code, 0);
    assert.equal((await runCli(["split", "--db", db, "--seed", "42"])).code, 0);
    for (const name of ["cascade", "vote"]) {
      const t = await runCli([
        "train",
        "--db",
        db,
        "--policy",
        name,
        "--embedder",
        "hash",
        "--out",
        join(dir, `${name}.json`),
      ]);
      assert.equal(t.code, 0, t.stderr);
    }
    const d = new Database(db, { readonly: true });
    task = (d.prepare("SELECT task FROM queries WHERE metric = 'em_mc' LIMIT 1").get() as { task: string }).task;
    d.close();

    // Pin the cascade's chain for this task at the served point: columns 0 and 1 in parallel, agree on 2, else 2.
    const cascadeFile = join(dir, "cascade.json");
    const art = JSON.parse(readFileSync(cascadeFile, "utf8"));
    const point = art.state.points["within-cost"] as number;
    const group = art.state.groups[task] ?? art.state.groups["*"];
    group.chains[point] = { stages: [[0, 1], [2]], stop: { agree: 2, support: "Infinity", similarity: 1 } };
    art.state.groups[task] = group;
    writeFileSync(cascadeFile, JSON.stringify(art));
    const cascade = loadPolicy(cascadeFile);
    stage1 = [cascade.candidates[0]?.model as string, cascade.candidates[1]?.model as string];
    stage2 = cascade.candidates[2]?.model as string;
    models = [...new Set(cascade.candidates.map((c) => c.model))];
    assert.ok(cascade.candidates.slice(0, 3).every((c) => c.mode === "direct"));
    assert.equal(new Set([...stage1, stage2]).size, 3);

    // Three voters at the served point (training chose how many; a majority needs three), then the voters for
    // this question as the gateway will plan them (same artifact, same embedder).
    const voteFile = join(dir, "vote.json");
    const va = JSON.parse(readFileSync(voteFile, "utf8"));
    va.state.k[va.state.points["within-cost"]] = 3;
    writeFileSync(voteFile, JSON.stringify(va));
    const vote = loadPolicy(voteFile);
    const q = await toRouteQuery(QUESTION, { task, domain: null }, createEmbedder(vote.embedder));
    const [vp] = vote.policy.plans([q], vote.policy.point("within-cost"));
    voters = (vp?.plan.stages.flat() ?? []).map((j) => ({
      model: vote.candidates[j]?.model as string,
      weight: vp?.weights.success[j] as number,
    }));

    fake = await startFakeProcess({ models: {} });
    const providers = join(dir, "providers.yaml");
    writeFileSync(providers, providersYaml(fake.url, models, { retries: 0 }));
    gw = await startGatewayProcess([
      "--providers",
      providers,
      "--db",
      db,
      "--no-auth",
      "--policy",
      `${join(dir, "cascade.json")},${join(dir, "vote.json")}`,
    ]);
  });

  after(async () => {
    await gw?.stop();
    await fake?.stop();
  });

  test("GET /v1/models lists the served policies beside the router models", async () => {
    const listed = (await (await fetch(`${gw.url}/v1/models`)).json()) as {
      data: { id: string; owned_by: string; description?: string }[];
    };
    const ids = listed.data.map((m) => m.id);
    for (const name of ["fusionkit/cascade", "fusionkit/vote"]) {
      const m = listed.data.find((x) => x.id === name);
      assert.ok(m, `${name} in ${ids.join(", ")}`);
      assert.equal(m.owned_by, "fusionkit");
      assert.match(m.description ?? "", /multi-call policy '(cascade|vote)' over \d+ configured candidates/);
    }
    assert.ok(ids.includes(models[0] as string), "upstream models still listed");
  });

  test("cascade stops after the cheap stage when its answers agree", async () => {
    await configure({ [stage1[0] as string]: "The answer is (B).", [stage1[1] as string]: "(B)", [stage2]: "(C)" });
    const { r, text } = await ask("fusionkit/cascade");
    assert.equal(r.status, 200, text);
    assert.equal(r.headers.get("x-fusionkit-stop"), "agree");
    assert.deepEqual(callsOf(r).sort(), stage1.map((m) => `${m};status=200`).sort());
    const body = JSON.parse(text);
    assert.match(body.choices[0].message.content, /\(B\)/);
    const cost = Number(r.headers.get("x-fusionkit-cost"));
    assert.ok(cost > 0);
    assert.ok(Math.abs(body.usage.cost - cost) <= cost * 1e-5);
  });

  test("cascade escalates when the cheap answers disagree", async () => {
    await configure({ [stage1[0] as string]: "(A)", [stage1[1] as string]: "(B)", [stage2]: "(B)" });
    const { r, text } = await ask("fusionkit/cascade");
    assert.equal(r.status, 200, text);
    assert.equal(r.headers.get("x-fusionkit-stop"), "vote");
    assert.equal(callsOf(r).length, 3);
    assert.ok(callsOf(r).includes(`${stage2};status=200`));
  });

  test("cascade survives a failing stage member and answers from the next stage", async () => {
    await configure({ [stage1[0] as string]: 500, [stage1[1] as string]: "(B)", [stage2]: "(B)" });
    const { r, text } = await ask("fusionkit/cascade");
    assert.equal(r.status, 200, text);
    const calls = callsOf(r);
    assert.ok(calls.includes(`${stage1[0]};status=502`), calls.join(", "));
    assert.ok(calls.includes(`${stage2};status=200`));
    assert.equal(r.headers.get("x-fusionkit-stop"), "vote");
    assert.match(JSON.parse(text).choices[0].message.content, /\(B\)/);
  });

  test("a streaming client gets the accepted answer as SSE", async () => {
    await configure({ [stage1[0] as string]: "(B)", [stage1[1] as string]: "(B)", [stage2]: "(C)" });
    const { r, text } = await ask("fusionkit/cascade", true);
    assert.equal(r.status, 200, text);
    assert.match(r.headers.get("content-type") ?? "", /text\/event-stream/);
    assert.match(text, /"content":"\(B\)"/);
    assert.match(text, /data: \[DONE\]\n\n$/);
  });

  test("vote returns the weighted majority of its voters", async () => {
    assert.ok(voters.length >= 3, `the trained vote plans ${voters.length} voters at within-cost`);
    // The lightest voter dissents; the others (more weight together) say (B).
    const dissenter = voters.reduce((a, b) => (b.weight < a.weight ? b : a));
    const replies: Record<string, string> = {};
    for (const v of voters) replies[v.model] = v === dissenter ? "(A)" : "(B)";
    await configure(replies);
    const { r, text } = await ask("fusionkit/vote");
    assert.equal(r.status, 200, text);
    assert.equal(r.headers.get("x-fusionkit-stop"), "vote");
    assert.equal(callsOf(r).length, voters.length);
    assert.match(JSON.parse(text).choices[0].message.content, /\(B\)/);
  });

  test("every call is logged as an exchange", async () => {
    await gw.stop();
    const d = new Database(db, { readonly: true });
    const rows = d
      .prepare(
        "SELECT requested_model, served_model, status FROM gateway_exchanges WHERE requested_model LIKE 'fusionkit/%'",
      )
      .all() as Array<{ requested_model: string; served_model: string; status: number }>;
    d.close();
    const cascade = rows.filter((x) => x.requested_model === "fusionkit/cascade");
    // 2 (agree) + 3 (escalate) + 3 (failing member) + 2 (stream)
    assert.equal(cascade.length, 10);
    assert.equal(cascade.filter((x) => x.status === 502).length, 1);
    assert.equal(rows.filter((x) => x.requested_model === "fusionkit/vote").length, voters.length);
  });
});
