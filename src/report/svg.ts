import * as Plot from "@observablehq/plot";
import { parseHTML } from "linkedom";

/**
 * Standalone SVG files from Observable Plot, rendered in Node through linkedom's DOM. Plot returns an HTML
 * <figure> when asked for a title or legend, so both are drawn here instead: the chart stays one SVG that
 * any viewer (browser, GitHub, rsvg) opens.
 */

/**
 * Observable Plot's default categorical palette (observable10) plus four more distinct hues (every router
 * of the registry gets its own colour), assigned explicitly so the legend matches.
 */
export const PALETTE = [
  "#4269d0",
  "#efb118",
  "#ff725c",
  "#6cc5b0",
  "#3ca951",
  "#ff8ab7",
  "#a463f2",
  "#97bbf5",
  "#9c6b4e",
  "#9498a0",
  "#17becf",
  "#1b3a7a",
  "#bcbd22",
  "#7f2704",
];

export interface LegendItem {
  label: string;
  color: string;
  /** "line" for series drawn as lines, "dot" for points, "box" for bars. */
  shape: "line" | "dot" | "box";
}

export interface SvgChart {
  title: string;
  subtitle?: string;
  legend?: LegendItem[];
  /** Plot options without `document` (added here). */
  plot: Plot.PlotOptions;
}

const SVG_NS = "http://www.w3.org/2000/svg";
const HEADER = 44;
const LEGEND_ROW = 16;
const LEGEND_COL = 280;

export function renderSvg(chart: SvgChart): string {
  const { document } = parseHTML("<!doctype html><html><body></body></html>");
  const el = Plot.plot({ ...chart.plot, document: document as unknown as Document });
  if (el.tagName.toLowerCase() !== "svg")
    throw new Error("renderSvg: Plot returned HTML (remove title/legend from the plot options)");
  const width = Number(el.getAttribute("width"));
  const height = Number(el.getAttribute("height"));
  const legend = chart.legend ?? [];
  const perRow = Math.max(1, Math.floor((width - 20) / LEGEND_COL));
  const legendHeight = legend.length ? Math.ceil(legend.length / perRow) * LEGEND_ROW + 8 : 0;
  el.setAttribute("x", "0");
  el.setAttribute("y", String(HEADER + legendHeight));
  el.removeAttribute("class");
  // Plot's scoped <style> only sets display/max-width for HTML pages; drop it from the nested svg.
  for (const style of [...el.querySelectorAll("style")]) style.remove();
  const total = HEADER + legendHeight + height;
  const parts = [
    `<svg xmlns="${SVG_NS}" width="${width}" height="${total}" viewBox="0 0 ${width} ${total}" font-family="system-ui, sans-serif">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">${escapeXml(chart.title)}</text>`,
    chart.subtitle ? `<text x="10" y="37" font-size="11" fill="#555">${escapeXml(chart.subtitle)}</text>` : "",
    ...legend.map((item, k) =>
      legendEntry(item, 10 + (k % perRow) * LEGEND_COL, HEADER + Math.floor(k / perRow) * LEGEND_ROW),
    ),
    el.outerHTML,
    "</svg>",
  ];
  return `<?xml version="1.0" encoding="UTF-8"?>\n${parts.join("\n")}\n`;
}

function legendEntry(item: LegendItem, x: number, y: number): string {
  const mark =
    item.shape === "line"
      ? `<line x1="${x}" y1="${y + 6}" x2="${x + 16}" y2="${y + 6}" stroke="${item.color}" stroke-width="2"/>`
      : item.shape === "dot"
        ? `<circle cx="${x + 8}" cy="${y + 6}" r="4" fill="${item.color}" stroke="#333" stroke-width="0.5"/>`
        : `<rect x="${x + 2}" y="${y}" width="12" height="12" fill="${item.color}"/>`;
  return `${mark}<text x="${x + 22}" y="${y + 10}" font-size="11">${escapeXml(truncate(item.label, 44))}</text>`;
}

function truncate(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

export function escapeXml(s: string): string {
  return s.replace(/[<>&"']/g, (c) => `&${{ "<": "lt", ">": "gt", "&": "amp", '"': "quot", "'": "apos" }[c]};`);
}
