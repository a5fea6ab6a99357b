// Evaluations page: stored `fusionkit eval` runs; the cost–performance frontier of every router (each scenario a
// point, its λ sweep a line) and single model; click a router for its per-task wins and losses against the best
// single model and the queries where it chose another model.
import { get } from "./api.js";
import { card, chart, h, num, pager, pct, select, table, time, usd } from "./dom.js";
import { setParams } from "./nav.js";

const PAGE = 20;

export async function renderEvals(root, params) {
  const runs = await get("evals");
  if (runs.length === 0) {
    root.append(
      h(
        "p",
        { class: "empty" },
        "No stored evaluation runs: run `fusionkit eval` (or `fusionkit demo`) on this store.",
      ),
    );
    return;
  }
  const state = {
    run: runs.some((r) => String(r.id) === params.run) ? Number(params.run) : runs[0].id,
    router: params.router ?? "",
    scenario: params.scenario ?? "",
    verdict: params.verdict ?? "",
    offset: Number(params.offset ?? 0) || 0,
  };
  const sync = () => setParams(state);
  const head = h("div");
  const body = h("div");
  const detail = h("div", { id: "router-detail" });
  root.append(head, body, detail);

  head.append(
    h(
      "div",
      { class: "toolbar" },
      h("label", {}, "run"),
      select(
        "run",
        runs.map((r) => [
          String(r.id),
          `#${r.id} · ${r.dataset} (${r.split}) · ${r.routers} router×scenario · ${time(r.at)}`,
        ]),
        String(state.run),
        (v) => {
          Object.assign(state, { run: Number(v), router: "", scenario: "", offset: 0 });
          detail.replaceChildren();
          showRun();
        },
      ),
    ),
  );

  let run = null;
  async function showRun() {
    sync();
    run = await get(`evals/${state.run}`);
    const r = run.result;
    const s = run.settings;
    const points = r.routers.map((x) => ({ ...x, kind: "router", label: `${x.name} (${x.scenario})` }));
    const singles = r.singles.map((x) => ({ ...x, kind: "single", name: x.model, label: x.model }));
    const oracle = { ...r.oracle, kind: "oracle", name: "oracle", label: "oracle (per-query best)" };
    const sweep = [];
    const seen = new Set();
    for (const x of r.routers) {
      if (seen.has(x.name)) continue;
      seen.add(x.name);
      for (const p of x.frontier) if (p.cost > 0) sweep.push({ ...p, name: x.name });
    }
    const all = [...points, ...singles, oracle].filter((p) => p.cost > 0);
    const plot = Plot.plot({
      width: 900,
      height: 440,
      marginLeft: 50,
      marginRight: 150,
      grid: true,
      x: { type: "log", label: "mean cost per query (USD, log) →" },
      y: { label: "↑ mean performance" },
      color: { legend: true, domain: [...seen] },
      symbol: { domain: r.scenarios, legend: true },
      marks: [
        Plot.line(sweep, {
          x: "cost",
          y: "performance",
          z: "name",
          stroke: "name",
          strokeOpacity: 0.35,
          curve: "linear",
        }),
        Plot.dot(singles, { x: "cost", y: "performance", fill: "#888", symbol: "square", r: 4 }),
        Plot.text(singles, {
          x: "cost",
          y: "performance",
          text: "model",
          dx: 6,
          textAnchor: "start",
          fontSize: 9,
          fill: "#666",
        }),
        Plot.dot([oracle], { x: "cost", y: "performance", fill: "#111", symbol: "star", r: 7 }),
        Plot.text([oracle], { x: "cost", y: "performance", text: () => "oracle", dx: 8, textAnchor: "start" }),
        Plot.dot(points, { x: "cost", y: "performance", stroke: "name", symbol: "scenario", r: 5, strokeWidth: 2 }),
        Plot.tip(
          all,
          Plot.pointer({
            x: "cost",
            y: "performance",
            title: (d) =>
              `${d.label}\nperformance ${num(d.performance)}\ncost ${usd(d.cost)}/query${d.kind === "router" ? `\ngap closed ${pct(d.gapClosed)}\nclick for its queries` : ""}`,
          }),
        ),
      ],
    });
    // Plot's pointer keeps the datum under the pointer in plot.value; a click on a router opens it.
    plot.addEventListener("click", () => {
      const v = plot.value;
      if (v && v.kind === "router") openRouter(v.name, v.scenario);
    });
    plot.style.cursor = "pointer";
    body.replaceChildren(
      h(
        "div",
        { class: "cards" },
        card("dataset", run.dataset),
        card("scored queries", `${r.queries} (${r.split})`),
        card("trained on", `${r.trainQueries} queries`),
        card(
          "best single",
          `${r.bestSingle.model}`,
          `performance ${num(r.bestSingle.performance)}, ${usd(r.bestSingle.cost)}/query`,
        ),
        card("oracle", num(r.oracle.performance), `${usd(r.oracle.cost)}/query`),
        card("embedder", s.embedder),
      ),
      h("h2", {}, "Cost–performance frontier", h("span", { class: "muted" }, " (hover a point; click a router)")),
      chart(plot),
      h("h3", {}, "Routers"),
      table(
        [
          { label: "router", value: (x) => x.name },
          { label: "scenario", value: (x) => x.scenario },
          { label: "performance", num: true, value: (x) => num(x.performance) },
          { label: "cost/query", num: true, value: (x) => usd(x.cost) },
          { label: "cost ÷ best single", num: true, value: (x) => num(x.costRatio, 2) },
          { label: "gap closed", num: true, value: (x) => pct(x.gapClosed) },
          { label: "AIQ", num: true, value: (x) => num(x.aiq) },
          { label: "tasks won / lost", num: true, value: (x) => `${x.beatsBestSingleOn.length} / ${x.losesOn.length}` },
        ],
        r.routers,
        (x) => openRouter(x.name, x.scenario),
        (x) => x.name === state.router && x.scenario === state.scenario,
      ),
    );
  }

  async function openRouter(name, scenario, offset = 0) {
    Object.assign(state, { router: name, scenario, offset });
    sync();
    const d = await get(`evals/${state.run}/router`, { name, scenario, verdict: state.verdict, offset, limit: PAGE });
    // Dumbbell per task: grey = best single model, blue = this router; the link is green where it wins.
    const rows = d.tasks.filter((t) => t.bestSingle);
    const link = (verdict, stroke) =>
      Plot.link(
        rows.filter((t) => t.verdict === verdict),
        {
          y1: "task",
          y2: "task",
          x1: (t) => t.bestSingle.performance,
          x2: (t) => t.router.performance,
          stroke,
          strokeWidth: 3,
        },
      );
    const bars = Plot.plot({
      width: 900,
      height: 50 + 22 * d.tasks.length,
      marginLeft: 170,
      x: { domain: [0, 1], label: `mean performance → (grey: ${d.bestSingle}; blue: ${name})`, grid: true },
      y: { label: null, domain: d.tasks.map((t) => t.task) },
      marks: [
        link("wins", "#1a7f37"),
        link("loses", "#cf222e"),
        link("ties", "#999"),
        Plot.dot(rows, { y: "task", x: (t) => t.bestSingle.performance, fill: "#999", r: 4 }),
        Plot.dot(d.tasks, { y: "task", x: (t) => t.router.performance, fill: "#0969da", r: 4 }),
        Plot.tip(
          d.tasks,
          Plot.pointerY({
            y: "task",
            x: (t) => t.router.performance,
            title: (t) =>
              `${t.task} (${t.queries} queries)\n${name}: ${num(t.router.performance)}\nbest single: ${num(t.bestSingle?.performance)}\n${t.verdict}`,
          }),
        ),
      ],
    });
    const verdictTag = (v) => h("span", { class: `tag ${v === "wins" ? "good" : v === "loses" ? "bad" : ""}` }, v);
    detail.replaceChildren(
      h(
        "div",
        { class: "panel" },
        h(
          "div",
          { class: "toolbar" },
          h("strong", {}, `${name} (${scenario})`),
          h(
            "span",
            { class: "muted" },
            `performance ${num(d.performance)} at ${usd(d.cost)}/query vs best single ${d.bestSingle}`,
          ),
          h("button", { onclick: () => detail.replaceChildren() }, "close"),
        ),
        h("h3", {}, "Per task against the best single model"),
        chart(bars),
        table(
          [
            { label: "task", value: (t) => t.task },
            { label: "queries", num: true, value: (t) => t.queries },
            { label: name, num: true, value: (t) => num(t.router.performance) },
            { label: "best single", num: true, value: (t) => num(t.bestSingle?.performance) },
            { label: "its cost", num: true, value: (t) => usd(t.router.cost) },
            { label: "best single cost", num: true, value: (t) => usd(t.bestSingle?.cost) },
            { label: "", value: (t) => verdictTag(t.verdict) },
          ],
          d.tasks,
        ),
        h("h3", {}, `Queries where it chose another model than ${d.bestSingle}`),
        h(
          "div",
          { class: "toolbar" },
          h(
            "span",
            {},
            `its choice scored better on ${d.differs.better}, worse on ${d.differs.worse}, the same on ${d.differs.same}`,
          ),
          select(
            "verdict",
            [
              ["", "all"],
              ["better", "better"],
              ["worse", "worse"],
              ["same", "same"],
            ],
            state.verdict,
            (v) => {
              state.verdict = v;
              openRouter(name, scenario, 0);
            },
          ),
        ),
        table(
          [
            { label: "task", value: (x) => x.task },
            {
              label: "query",
              class: "snippet",
              value: (x) =>
                h(
                  "a",
                  {
                    href: `#/data?dataset=${encodeURIComponent(run.dataset)}&open=${encodeURIComponent(x.queryId)}`,
                    title: x.text,
                  },
                  x.text,
                ),
            },
            { label: "chose", value: (x) => x.chosen },
            { label: "its score", num: true, value: (x) => num(x.chosenPerformance, 2) },
            { label: "best single's", num: true, value: (x) => num(x.bestPerformance, 2) },
            { label: "cost saved", num: true, value: (x) => usd((x.bestCost ?? 0) - (x.chosenCost ?? 0)) },
          ],
          d.page.rows,
        ),
        pager(d.page.offset, d.page.limit, d.page.total, (o) => openRouter(name, scenario, o)),
      ),
    );
    for (const tr of body.querySelectorAll("tbody tr")) tr.classList.remove("selected");
    detail.scrollIntoView({ block: "start" });
  }

  await showRun();
  if (state.router && state.scenario) await openRouter(state.router, state.scenario, state.offset);
}
