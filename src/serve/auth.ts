import type { IncomingHttpHeaders } from "node:http";
import { HttpError } from "./errors.ts";
import { type ActiveKey, type ApiKeys, hashKey } from "./keys.ts";

/**
 * Client authentication: `Authorization: Bearer <key>` (or `x-api-key`) checked against the hashed keys.
 * Active keys live in memory and are reloaded every few seconds, so `fusionkit keys revoke` and limit changes
 * take effect on a running gateway without a database read per request. A key not in memory is looked up
 * once in the store, so a key is valid the moment `fusionkit keys create` returns.
 */
export class Authenticator {
  private active = new Map<string, ActiveKey>();
  private byId = new Map<string, ActiveKey>();
  private readonly keys: ApiKeys;
  private timer: NodeJS.Timeout | null = null;

  constructor(keys: ApiKeys, refreshMs = 2000) {
    this.keys = keys;
    this.reload();
    this.timer = setInterval(() => this.reload(), refreshMs);
    this.timer.unref();
  }

  reload(): void {
    this.active = this.keys.activeHashes();
    this.byId = new Map([...this.active.values()].map((k) => [k.id, k]));
  }

  /** The active key with this id (its limits), if any. */
  key(id: string): ActiveKey | undefined {
    return this.byId.get(id);
  }

  /** The key id of a valid request; throws 401 otherwise (the presented key is never echoed). */
  check(headers: IncomingHttpHeaders): string {
    const key = presentedKey(headers);
    if (!key)
      throw new HttpError(
        401,
        "authentication_error",
        "missing API key: send 'Authorization: Bearer <key>' (create one with 'fusionkit keys create')",
        "missing_api_key",
      );
    const hash = hashKey(key);
    let found = this.active.get(hash);
    if (!found) {
      // Created since the last refresh? One indexed read; an unknown key stays unknown (nothing cached).
      found = this.keys.activeByHash(hash) ?? undefined;
      if (found) {
        this.active.set(hash, found);
        this.byId.set(found.id, found);
      }
    }
    if (!found) throw new HttpError(401, "authentication_error", "invalid or revoked API key", "invalid_api_key");
    return found.id;
  }

  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }
}

function presentedKey(headers: IncomingHttpHeaders): string | null {
  const auth = headers.authorization;
  if (auth) {
    const m = /^Bearer\s+(.+)$/i.exec(auth.trim());
    return m ? m[1].trim() : null;
  }
  const x = headers["x-api-key"];
  return typeof x === "string" && x ? x.trim() : null;
}

/** Loopback hosts on which `--no-auth` is allowed. */
export function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "::1" || host === "localhost" || host.startsWith("127.");
}
