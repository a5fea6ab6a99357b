// Gateway page: live traffic from the exchange log, aggregated on the server per time bucket (refreshes itself):
// requests/s, errors, fallbacks, latency percentiles, routed share and spend per model; the exchange log with each
// routing decision and a feedback button that posts to /v1/feedback.
import { get, post } from "./api.js";
import { card, chart, debounce, h, ms, num, pct, select, table, time, usd } from "./dom.js";
import { setParams, setStatus } from "./nav.js";

const PAGE = 25;
const REFRESH_MS = 5000;
const WINDOWS = [
  ["5m", "last 5 minutes"],
  ["1h", "last hour"],
  ["6h", "last 6 hours"],
  ["24h", "last 24 hours"],
  ["7d", "last 7 days"],
  ["all", "everything"],
];

export async function renderGateway(root, params) {
  const state = {
    window: WINDOWS.some(([w]) => w === params.window) ? params.window : "1h",
    model: params.model ?? "",
    status: params.status ?? "",
    q: params.q ?? "",
    open: params.open ?? "",
    live: params.live !== "off",
  };
  const sync = () => setParams({ ...state, live: state.live ? "" : "off" });
  // Older pages of the log: the cursors of the pages above the current one.
  let cursors = [null];

  const controls = h("div", { class: "toolbar" });
  const kpis = h("div");
  const charts = h("div");
  const log = h("div");
  const detail = h("div");
  root.append(controls, kpis, charts, h("h2", {}, "Exchange log"), log, detail);

  let models = [];
  function renderControls() {
    controls.replaceChildren(
      h("label", {}, "window"),
      select("window", WINDOWS, state.window, (v) => {
        state.window = v;
        cursors = [null];
        refresh();
      }),
      h(
        "label",
        {},
        h("input", {
          type: "checkbox",
          name: "live",
          checked: state.live,
          onchange: (e) => {
            state.live = e.target.checked;
            sync();
          },
        }),
        " refresh every 5 s",
      ),
    );
  }

  async function refreshOverview() {
    const o = await get("gateway/overview", { window: state.window });
    models = o.models.map((m) => m.model);
    const t = o.totals;
    const stepS = o.window.step / 1000;
    kpis.replaceChildren(
      h(
        "div",
        {},
        h(
          "div",
          { class: "cards" },
          card("requests", t.requests.toLocaleString()),
          card("requests/s", num(t.perSecond, 2)),
          card("errors", `${t.errors} (${pct(t.requests ? t.errors / t.requests : 0)})`),
          card(
            "fallbacks",
            `${t.fallbacks} (${pct(t.requests ? t.fallbacks / t.requests : 0)})`,
            "requests that needed more than one upstream attempt",
          ),
          card("latency p50 / p95 / p99", `${ms(t.p50)} / ${ms(t.p95)} / ${ms(t.p99)}`),
          card("spend", usd(t.spend)),
          card(
            "open breakers",
            o.openBreakers === null ? "n/a" : o.openBreakers.length ? o.openBreakers.join(", ") : "none",
            o.openBreakers === null
              ? "breaker state lives in the gateway process: open the dashboard at /ui of `fusionkit serve`"
              : "upstream models whose circuit is open now",
          ),
        ),
        t.requests === 0
          ? h(
              "p",
              { class: "empty" },
              o.latestAt
                ? `No exchanges in this window; the newest is from ${time(o.latestAt)}.`
                : "No exchanges logged yet: traffic through `fusionkit serve` appears here.",
            )
          : null,
      ),
    );
    if (t.requests === 0) {
      charts.replaceChildren();
      return;
    }
    const x = { type: "time", label: null, domain: [new Date(o.window.from), new Date(o.window.to)] };
    const at = (d) => new Date(d.t + o.window.step / 2);
    const rate = o.series.flatMap((b) => [
      { t: b.t, what: "requests/s", v: b.requests / stepS },
      { t: b.t, what: "errors/s", v: b.errors / stepS },
      { t: b.t, what: "fallbacks/s", v: b.fallbacks / stepS },
    ]);
    const lat = o.series.flatMap((b) => [
      { t: b.t, what: "p50", v: b.p50 },
      { t: b.t, what: "p95", v: b.p95 },
      { t: b.t, what: "p99", v: b.p99 },
    ]);
    // Stacked areas carry the model name as their hover title; the share is computed per bucket here.
    const served = new Map();
    for (const m of o.modelSeries) served.set(m.t, (served.get(m.t) ?? 0) + m.requests);
    const shares = o.modelSeries.map((m) => ({ ...m, share: m.requests / served.get(m.t) }));
    const small = (opts) => Plot.plot({ width: 640, height: 200, marginLeft: 55, x, grid: true, ...opts });
    const tip = (data, y, fmt) => Plot.tip(data, Plot.pointerX({ x: at, y, title: fmt }));
    charts.replaceChildren(
      h(
        "div",
        { class: "grid2" },
        h(
          "div",
          {},
          h("h3", {}, "Requests, errors and fallbacks per second"),
          chart(
            small({
              y: { label: "per second" },
              color: {
                legend: true,
                domain: ["requests/s", "errors/s", "fallbacks/s"],
                range: ["#0969da", "#cf222e", "#bf8700"],
              },
              marks: [
                Plot.lineY(rate, { x: at, y: "v", stroke: "what", marker: o.series.length < 3 ? "dot" : null }),
                tip(rate, "v", (d) => `${time(d.t)}\n${d.what}: ${num(d.v, 2)}`),
              ],
            }),
          ),
        ),
        h(
          "div",
          {},
          h("h3", {}, "Latency percentiles"),
          chart(
            small({
              y: { label: "ms", type: "log" },
              color: { legend: true, domain: ["p50", "p95", "p99"] },
              marks: [
                Plot.lineY(lat, { x: at, y: "v", stroke: "what", marker: o.series.length < 3 ? "dot" : null }),
                tip(lat, "v", (d) => `${time(d.t)}\n${d.what}: ${ms(d.v)}`),
              ],
            }),
          ),
        ),
        h(
          "div",
          {},
          h("h3", {}, "Routed share per model"),
          chart(
            small({
              y: { label: "share of served requests", percent: true },
              color: { legend: true },
              marks: [Plot.areaY(shares, { x: at, y: "share", fill: "model", curve: "step", title: "model" })],
            }),
          ),
        ),
        h(
          "div",
          {},
          h("h3", {}, "Spend per model"),
          chart(
            small({
              y: { label: "USD per bucket" },
              color: { legend: true },
              marks: [Plot.areaY(o.modelSeries, { x: at, y: "spend", fill: "model", curve: "step", title: "model" })],
            }),
          ),
        ),
      ),
      h("h3", {}, "Per model in this window"),
      table(
        [
          { label: "model", value: (m) => m.model },
          { label: "requests", num: true, value: (m) => m.requests },
          { label: "share", num: true, value: (m) => pct(m.share) },
          { label: "spend", num: true, value: (m) => usd(m.spend) },
          { label: "mean latency", num: true, value: (m) => ms(m.meanLatency) },
        ],
        o.models,
      ),
      h("p", { class: "muted" }, `Statuses: ${o.statuses.map((s) => `${s.status} × ${s.requests}`).join(", ")}`),
    );
  }

  async function refreshLog() {
    const page = await get("gateway/exchanges", {
      window: state.window,
      model: state.model,
      status: state.status,
      q: state.q,
      before: cursors[cursors.length - 1],
      limit: PAGE,
    });
    const search = h("input", {
      type: "search",
      name: "q",
      placeholder: "whole words in the routed text…",
      value: state.q,
      oninput: debounce((e) => {
        state.q = e.target.value;
        cursors = [null];
        refreshLog().catch((err) => setStatus(err.message, true));
      }),
    });
    const first = cursors.length === 1;
    log.replaceChildren(
      h(
        "div",
        { class: "toolbar" },
        search,
        select("model", [["", "any served model"], ...models], state.model, (v) => {
          state.model = v;
          cursors = [null];
          refreshLog();
        }),
        select(
          "status",
          [
            ["", "any status"],
            ["ok", "answered"],
            ["error", "errors"],
            ["fallback", "fell back"],
          ],
          state.status,
          (v) => {
            state.status = v;
            cursors = [null];
            refreshLog();
          },
        ),
      ),
      table(
        [
          { label: "time", value: (r) => new Date(r.at).toLocaleTimeString() },
          { label: "requested", value: (r) => r.requestedModel },
          { label: "served", value: (r) => r.servedModel ?? "—" },
          { label: "status", value: (r) => h("span", { class: `tag ${r.status < 400 ? "good" : "bad"}` }, r.status) },
          { label: "latency", num: true, value: (r) => ms(r.latencyMs) },
          { label: "cost", num: true, value: (r) => usd(r.cost) },
          { label: "tries", num: true, value: (r) => r.attempts },
          { label: "routed text", class: "snippet", value: (r) => h("span", { title: r.query }, r.query) },
          { label: "feedback", num: true, value: (r) => (r.feedback === null ? "" : num(r.feedback, 2)) },
        ],
        page.rows,
        (r) => openExchange(r.requestId),
        (r) => r.requestId === state.open,
      ),
      h(
        "div",
        { class: "pager" },
        h(
          "button",
          {
            disabled: first,
            onclick: () => {
              cursors.pop();
              refreshLog();
            },
          },
          "‹ newer",
        ),
        `${page.rows.length ? `page ${cursors.length}` : "no rows"} · ${page.total.toLocaleString()}${page.capped ? "+" : ""} matching in the window`,
        h(
          "button",
          {
            disabled: !page.next,
            onclick: () => {
              cursors.push(page.next);
              refreshLog();
            },
          },
          "older ›",
        ),
      ),
    );
  }

  async function openExchange(id) {
    state.open = id;
    sync();
    const e = await get(`gateway/exchanges/${encodeURIComponent(id)}`);
    const ranked = e.ranked.map((r, i) => ({
      ...r,
      rank: i + 1,
      served: e.servedModel && (r.candidate === e.servedModel || r.candidate === `${e.servedModel}_think`),
    }));
    const feedbackMsg = h(
      "span",
      { class: "muted", id: "feedback-result" },
      e.feedback === null ? "" : `current label: ${num(e.feedback, 2)}`,
    );
    const send = async (score) => {
      try {
        const r = await post("/v1/feedback", { request_id: e.requestId, score });
        feedbackMsg.textContent = `labelled ${num(r.performance, 2)} → routing data (query ${r.query_id}, ${r.model})`;
        refreshLog();
      } catch (err) {
        feedbackMsg.textContent = `feedback failed: ${err.message}`;
      }
    };
    detail.replaceChildren(
      h(
        "div",
        { class: "panel", id: "exchange-detail" },
        h(
          "div",
          { class: "toolbar" },
          h("strong", {}, e.requestId),
          h("span", { class: `tag ${e.status < 400 ? "good" : "bad"}` }, e.status),
          h(
            "span",
            { class: "muted" },
            `${time(e.at)} · ${e.requestedModel} → ${e.servedModel ?? "none"}${e.router ? ` · router ${e.router}` : ""} · ${ms(e.latencyMs)} · ${usd(e.cost)} · ${e.attempts} tr${e.attempts === 1 ? "y" : "ies"}${e.stream ? " · streamed" : ""}`,
          ),
          h("button", { onclick: () => detail.replaceChildren() }, "close"),
        ),
        h("h3", {}, "Routing decision"),
        ranked.length
          ? table(
              [
                { label: "#", num: true, value: (r) => r.rank },
                {
                  label: "candidate",
                  value: (r) => (r.served ? h("strong", {}, `${r.candidate} (served)`) : r.candidate),
                },
                { label: "objective score", num: true, value: (r) => num(r.score) },
                { label: "predicted performance", num: true, value: (r) => num(r.performance) },
                { label: "predicted cost", num: true, value: (r) => usd(r.cost) },
              ],
              ranked,
            )
          : h("p", { class: "muted" }, "No routing decision: the request named an upstream model directly."),
        e.error ? [h("h3", {}, "Error"), h("pre", {}, e.error)] : null,
        h("h3", {}, "Routed text"),
        h("pre", {}, e.query),
        h("h3", {}, "Response"),
        h("pre", {}, e.response ?? "(none)"),
        h(
          "div",
          { class: "toolbar" },
          h("strong", {}, "Feedback"),
          h(
            "button",
            { class: "primary", name: "feedback-good", disabled: e.status >= 400, onclick: () => send(1) },
            "good (1)",
          ),
          h("button", { name: "feedback-bad", disabled: e.status >= 400, onclick: () => send(0) }, "bad (0)"),
          feedbackMsg,
        ),
      ),
    );
    detail.scrollIntoView({ block: "nearest" });
  }

  async function refresh() {
    sync();
    await refreshOverview();
    await refreshLog();
  }

  renderControls();
  await refresh();
  if (state.open) await openExchange(state.open);
  const timer = setInterval(() => {
    // Only the newest page follows the traffic; an older page the user is reading stays put.
    if (state.live && cursors.length === 1 && !document.hidden) refresh().catch((err) => setStatus(err.message, true));
  }, REFRESH_MS);
  return () => clearInterval(timer);
}
