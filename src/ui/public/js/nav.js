// Route and status line shared by the shell and the pages.

export const PAGES = ["data", "evals", "gateway"];

export function setStatus(text, isError = false) {
  const s = document.getElementById("status");
  s.textContent = text;
  s.className = isError ? "error" : "";
}

/** Current route: #/page?key=value… */
export function route() {
  const [path, qs] = location.hash.replace(/^#\/?/, "").split("?");
  return { page: PAGES.includes(path) ? path : "data", params: Object.fromEntries(new URLSearchParams(qs ?? "")) };
}

/** Change the query part of the route without re-rendering the page (keeps links shareable). */
export function setParams(params) {
  const { page } = route();
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const qs = q.toString();
  history.replaceState(null, "", `#/${page}${qs ? `?${qs}` : ""}`);
}
