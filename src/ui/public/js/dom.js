// Small DOM and formatting helpers shared by the pages (no framework: the pages are plain ES modules).

/** h("div", {class: "x", onclick}, child, ...) → element; children may be strings, nodes, arrays or null. */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs ?? {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "class") el.className = v;
    else if (k === "style") el.setAttribute("style", v);
    else if (k in el && typeof v !== "string") el[k] = v;
    else el.setAttribute(k, v === true ? "" : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : String(c));
  }
}

export const num = (v, digits = 3) => (v === null || v === undefined || Number.isNaN(v) ? "—" : v.toFixed(digits));
export const pct = (v) => (v === null || v === undefined || Number.isNaN(v) ? "—" : `${(100 * v).toFixed(1)}%`);
export function usd(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  if (v === 0) return "$0";
  return Math.abs(v) >= 0.01 ? `$${v.toFixed(2)}` : `$${v.toExponential(2)}`;
}
export const ms = (v) =>
  v === null || v === undefined ? "—" : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`;
export const time = (t) => new Date(t).toLocaleString();

/** A stat card. */
export const card = (label, value, title) =>
  h("div", { class: "card", title }, h("div", { class: "v" }, value), h("div", { class: "k" }, label));

/** A select whose options are [value, label] pairs or plain values. */
export function select(name, options, value, onchange) {
  return h(
    "select",
    { name, onchange: (e) => onchange(e.target.value) },
    options.map((o) => {
      const [v, label] = Array.isArray(o) ? o : [o, o];
      return h("option", { value: v, selected: v === value }, label);
    }),
  );
}

/** Table from column specs {label, value(row) → node|string, num?} with an optional row click. */
export function table(columns, rows, onRowClick, selectedKey) {
  return h(
    "table",
    {},
    h(
      "thead",
      {},
      h(
        "tr",
        {},
        columns.map((c) => h("th", { class: c.num ? "num" : null }, c.label)),
      ),
    ),
    h(
      "tbody",
      {},
      rows.map((r) =>
        h(
          "tr",
          {
            class: [onRowClick ? "clickable" : "", selectedKey?.(r) ? "selected" : ""].join(" ").trim() || null,
            onclick: onRowClick ? () => onRowClick(r) : null,
          },
          columns.map((c) =>
            h("td", { class: [c.num ? "num" : "", c.class ?? ""].join(" ").trim() || null }, c.value(r)),
          ),
        ),
      ),
    ),
  );
}

/** "21–40 of 600" with previous/next buttons (offset paging). */
export function pager(offset, limit, total, go) {
  return h(
    "div",
    { class: "pager" },
    h("button", { disabled: offset === 0, onclick: () => go(Math.max(0, offset - limit)) }, "‹ previous"),
    total === 0 ? "no rows" : `${offset + 1}–${Math.min(offset + limit, total)} of ${total}`,
    h("button", { disabled: offset + limit >= total, onclick: () => go(offset + limit) }, "next ›"),
  );
}

/** Colour of a score in [0, 1] (red → green). */
export const scoreColor = (p) => (p === undefined || p === null ? "#eee" : d3.interpolateRdYlGn(0.1 + 0.8 * p));

/** Wrap a Plot figure so it scrolls on a narrow screen instead of overflowing. */
export const chart = (figure) => h("div", { class: "chart" }, figure);

/** Run fn after the user stops typing. */
export function debounce(fn, wait = 300) {
  let t = null;
  return (...args) => {
    clearTimeout(t);
    t = setTimeout(() => fn(...args), wait);
  };
}
