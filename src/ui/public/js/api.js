// JSON API client: GET/POST with the client key (kept in this browser's localStorage) when the server asks for one.

const KEY = "fusionkit.key";

export class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

function headers(extra = {}) {
  const key = localStorage.getItem(KEY);
  return key ? { ...extra, authorization: `Bearer ${key}` } : extra;
}

async function askKey() {
  const dialog = document.getElementById("key-dialog");
  const input = document.getElementById("key-input");
  input.value = "";
  dialog.showModal();
  await new Promise((resolve) => dialog.addEventListener("close", resolve, { once: true }));
  if (input.value) localStorage.setItem(KEY, input.value.trim());
}

async function send(url, init) {
  for (let tries = 0; ; tries++) {
    const r = await fetch(url, { ...init, headers: headers(init.headers) });
    if (r.status === 401 && tries < 3) {
      await askKey();
      continue;
    }
    const body = await r.json().catch(() => null);
    if (!r.ok) throw new ApiError(r.status, body?.error?.message ?? `${r.status} ${r.statusText}`);
    return body;
  }
}

/** GET api/<path>?params (relative to the dashboard's /ui/ base); empty params are left out. */
export function get(path, params = {}) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  const qs = q.toString();
  return send(`api/${path}${qs ? `?${qs}` : ""}`, { method: "GET" });
}

/** POST a JSON body to an absolute path of the same server (e.g. /v1/feedback). */
export function post(path, body) {
  return send(path, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json" } });
}
