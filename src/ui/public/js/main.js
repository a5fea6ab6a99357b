// The dashboard shell: a hash router over three pages; each page renders into <main> and may return a cleanup.
import { renderData } from "./data.js";
import { renderEvals } from "./evals.js";
import { renderGateway } from "./gateway.js";
import { route, setStatus } from "./nav.js";

const pages = { data: renderData, evals: renderEvals, gateway: renderGateway };
let cleanup = null;

async function show() {
  if (cleanup) cleanup();
  cleanup = null;
  const { page, params } = route();
  for (const a of document.querySelectorAll("header nav a")) a.classList.toggle("active", a.dataset.page === page);
  const root = document.getElementById("page");
  root.replaceChildren();
  root.dataset.page = page;
  delete root.dataset.ready;
  try {
    cleanup = (await pages[page](root, params)) ?? null;
    setStatus("");
  } catch (e) {
    setStatus(e.message, true);
  }
  // Tests wait for this: the page's first data is on screen.
  root.dataset.ready = "1";
}

window.addEventListener("hashchange", show);
show();
