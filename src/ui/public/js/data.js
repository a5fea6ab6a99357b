// Data page: datasets, the task × model heatmap (mean performance or cost) with best single, oracle and ties,
// and the query browser (search, filter by task / model / outcome, paginated on the server).
import { get } from "./api.js";
import { card, chart, debounce, h, num, pager, pct, scoreColor, select, table, usd } from "./dom.js";
import { setParams, setStatus } from "./nav.js";

const PAGE = 25;

export async function renderData(root, params) {
  const all = await get("data/datasets");
  if (all.length === 0) {
    root.append(
      h(
        "p",
        { class: "empty" },
        "The store holds no routing data yet: run `fusionkit import <path>` or `fusionkit demo`.",
      ),
    );
    return;
  }
  const state = {
    dataset: all.some((d) => d.dataset === params.dataset) ? params.dataset : all[0].dataset,
    split: params.split ?? "",
    metric: params.metric === "cost" ? "cost" : "performance",
    task: params.task ?? "",
    model: params.model ?? "",
    outcome: params.outcome ?? "",
    q: params.q ?? "",
    offset: Number(params.offset ?? 0) || 0,
    open: params.open ?? "",
  };
  const sync = () => setParams(state);

  const top = h("div");
  const heat = h("div");
  const browser = h("div");
  root.append(top, heat, browser);

  const info = () => all.find((d) => d.dataset === state.dataset);
  function renderTop() {
    const d = info();
    top.replaceChildren(
      h(
        "div",
        { class: "toolbar" },
        h("label", {}, "dataset"),
        select(
          "dataset",
          all.map((x) => x.dataset),
          state.dataset,
          (v) => {
            Object.assign(state, { dataset: v, task: "", model: "", offset: 0, open: "" });
            refreshAll();
          },
        ),
        h("label", {}, "split"),
        select("split", [["", "all"], "train", "test"], state.split, (v) => {
          Object.assign(state, { split: v, offset: 0 });
          refreshAll();
        }),
        h("label", {}, "heatmap"),
        select(
          "metric",
          [
            ["performance", "mean performance"],
            ["cost", "mean cost"],
          ],
          state.metric,
          (v) => {
            state.metric = v;
            refreshMatrix();
          },
        ),
      ),
      h(
        "div",
        { class: "cards" },
        card("queries", d.queries.toLocaleString()),
        card("train / test", `${d.train} / ${d.test}`),
        card("tasks", d.tasks),
        card("candidates", d.candidates.length),
        card("outcomes", d.outcomes.toLocaleString()),
      ),
    );
  }

  let matrix = null;
  async function refreshMatrix() {
    sync();
    matrix = await get("data/matrix", { dataset: state.dataset, split: state.split });
    const m = matrix;
    const best = new Map(m.perTask.map((t) => [t.task, t.bestSingle.model]));
    best.set("ALL", m.all.bestSingle.model);
    const cells = [...m.cells, ...m.overall].map((c) => ({
      ...c,
      value: c[state.metric],
      best: best.get(c.task) === c.candidate,
    }));
    for (const t of [...m.perTask, { task: "ALL", ...m.all }])
      cells.push({ task: t.task, candidate: "ORACLE", value: t.oracle[state.metric], n: t.queries, oracle: true });
    const isCost = state.metric === "cost";
    const fmt = (v) => (isCost ? usd(v) : num(v, 2));
    const plot = Plot.plot({
      width: Math.max(640, 130 + 78 * (m.candidates.length + 1)),
      height: 60 + 24 * (m.tasks.length + 1),
      marginLeft: 170,
      marginBottom: 100,
      x: { domain: [...m.candidates, "ORACLE"], tickRotate: -30, label: null },
      y: { domain: ["ALL", ...m.tasks], label: null },
      color: isCost
        ? { type: "log", scheme: "oranges", legend: true, label: "mean cost per query (USD)" }
        : { type: "linear", scheme: "rdylgn", domain: [0, 1], legend: true, label: "mean performance" },
      marks: [
        Plot.cell(cells, { x: "candidate", y: "task", fill: "value", inset: 0.5 }),
        Plot.cell(
          cells.filter((c) => c.best),
          { x: "candidate", y: "task", stroke: "#111", strokeWidth: 2, inset: 1.5 },
        ),
        Plot.text(cells, { x: "candidate", y: "task", text: (d) => fmt(d.value), fontSize: 10 }),
        Plot.tip(
          cells,
          Plot.pointer({
            x: "candidate",
            y: "task",
            title: (d) =>
              `${d.candidate} on ${d.task}\nmean ${state.metric}: ${fmt(d.value)}\nqueries: ${d.n}${d.best ? "\nbest single model here" : ""}`,
          }),
        ),
      ],
    });
    heat.replaceChildren(
      h(
        "h2",
        {},
        `Tasks × models: mean ${state.metric}`,
        h("span", { class: "muted" }, " (outlined: best single model per row)"),
      ),
      chart(plot),
      h("h3", {}, "Per task: best single model, oracle and ties"),
      table(
        [
          { label: "task", value: (t) => t.task },
          { label: "queries", num: true, value: (t) => t.queries },
          { label: "best single", value: (t) => t.bestSingle.model },
          { label: "its performance", num: true, value: (t) => num(t.bestSingle.performance) },
          { label: "oracle", num: true, value: (t) => num(t.oracle.performance) },
          { label: "oracle cost", num: true, value: (t) => usd(t.oracle.cost) },
          { label: "top-score ties", num: true, value: (t) => pct(t.tieRate) },
        ],
        [...m.perTask, { task: "ALL", ...m.all }],
        (t) => {
          Object.assign(state, { task: t.task === "ALL" ? "" : t.task, offset: 0 });
          renderBrowserShell();
          refreshBrowser();
        },
      ),
    );
  }

  const detail = h("div");
  const list = h("div");
  async function refreshBrowser() {
    sync();
    const d = info();
    const page = await get("data/queries", {
      dataset: state.dataset,
      split: state.split,
      task: state.task,
      model: state.model,
      outcome: state.outcome,
      q: state.q,
      offset: state.offset,
      limit: PAGE,
    });
    const cands = d.candidates;
    list.replaceChildren(
      table(
        [
          { label: "task", value: (r) => r.task },
          { label: "split", value: (r) => r.split ?? "—" },
          { label: "query", class: "snippet", value: (r) => h("span", { title: r.text }, r.text) },
          {
            label: "scores (one square per model)",
            value: (r) =>
              h(
                "span",
                { class: "scores" },
                cands.map((c) =>
                  h("span", {
                    title: `${c}: ${r.scores[c] ?? "no outcome"}`,
                    style: `background:${scoreColor(r.scores[c])}`,
                  }),
                ),
              ),
          },
        ],
        page.rows,
        (r) => openQuery(r.id),
        (r) => r.id === state.open,
      ),
      pager(page.offset, page.limit, page.total, (o) => {
        state.offset = o;
        refreshBrowser();
      }),
    );
  }

  async function openQuery(id) {
    state.open = id;
    sync();
    for (const tr of list.querySelectorAll("tr.selected")) tr.classList.remove("selected");
    const q = await get(`data/queries/${encodeURIComponent(id)}`);
    detail.replaceChildren(
      h(
        "div",
        { class: "panel", id: "query-detail" },
        h(
          "div",
          { class: "toolbar" },
          h("strong", {}, `Query ${q.id}`),
          h("span", { class: "tag" }, q.task),
          h("span", { class: "tag" }, q.split ?? "no split"),
          h("button", { onclick: () => detail.replaceChildren() }, "close"),
        ),
        h("pre", {}, q.text),
        q.groundTruth ? [h("h3", {}, "Ground truth"), h("pre", {}, q.groundTruth)] : null,
        h("h3", {}, `Responses (${q.outcomes.length} models, best first)`),
        q.outcomes.map((o) =>
          h(
            "div",
            {},
            h(
              "div",
              { class: "toolbar" },
              h("strong", {}, o.candidate),
              h("span", { class: `tag ${o.performance >= 0.5 ? "good" : "bad"}` }, `score ${num(o.performance, 2)}`),
              h(
                "span",
                { class: "muted" },
                `${usd(o.cost)} · ${o.inputTokens ?? "?"} in / ${o.outputTokens ?? "?"} out tokens`,
              ),
              o.judge !== null ? h("span", { class: "tag" }, `judge ${num(o.judge, 2)}`) : null,
            ),
            h("pre", {}, o.response ?? "(no response stored)"),
          ),
        ),
      ),
    );
    detail.scrollIntoView({ block: "nearest" });
  }

  function renderBrowserShell() {
    const d = info();
    const search = h("input", {
      type: "search",
      name: "q",
      placeholder: "search query text…",
      value: state.q,
      oninput: debounce((e) => {
        Object.assign(state, { q: e.target.value, offset: 0 });
        refreshBrowser().catch((err) => setStatus(err.message, true));
      }),
    });
    const tasks = matrix ? matrix.tasks : [];
    browser.replaceChildren(
      h("h2", {}, "Queries"),
      h(
        "div",
        { class: "toolbar" },
        search,
        select("task", [["", "all tasks"], ...tasks], state.task, (v) => {
          Object.assign(state, { task: v, offset: 0 });
          refreshBrowser();
        }),
        select("model", [["", "any model"], ...d.candidates], state.model, (v) => {
          Object.assign(state, { model: v, offset: 0 });
          refreshBrowser();
        }),
        select(
          "outcome",
          [
            ["", "any outcome"],
            ["solved", "solved (score ≥ 0.5)"],
            ["failed", "failed (score < 0.5)"],
            ["mixed", "models disagree"],
          ],
          state.outcome,
          (v) => {
            Object.assign(state, { outcome: v, offset: 0 });
            refreshBrowser();
          },
        ),
      ),
      list,
      detail,
    );
  }

  async function refreshAll() {
    renderTop();
    await refreshMatrix();
    renderBrowserShell();
    await refreshBrowser();
  }
  await refreshAll();
  if (state.open) await openQuery(state.open);
}
