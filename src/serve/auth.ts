import type { IncomingHttpHeaders } from "node:http";
import { HttpError } from "./errors.ts";
import { type ActiveKey, hashKey, type KeyStore } from "./keys.ts";

/**
 * Client authentication: `Authorization: Bearer <key>` (or `x-api-key`) checked against the hashed keys.
 * Active keys live in memory and are reloaded every few seconds, so `fusionkit keys revoke` and limit changes
 * take effect on a running gateway without a database read per request. A key not in memory is looked up
 * once in the store, so a key is valid the moment `fusionkit keys create` returns.
 */
export class Authenticator {
  private active = new Map<string, ActiveKey>();
  private byId = new Map<string, ActiveKey>();
  private readonly keys: KeyStore;
  private timer: NodeJS.Timeout | null = null;
  /** Resolves once the keys were read the first time (the gateway listens only after that). */
  readonly ready: Promise<void>;

  constructor(keys: KeyStore, refreshMs = 2000) {
    this.keys = keys;
    this.ready = Promise.resolve(this.reload());
    this.timer = setInterval(() => void this.reload(), refreshMs);
    this.timer.unref();
  }

  /** Re-read the active keys; a failed read (store busy, database restarting) keeps the ones in memory. */
  reload(): void | Promise<void> {
    const use = (active: Map<string, ActiveKey>) => {
      this.active = active;
      this.byId = new Map([...active.values()].map((k) => [k.id, k]));
    };
    const failed = (e: unknown) => {
      process.stderr.write(
        `fusionkit serve: could not refresh client keys, keeping the old ones: ${(e as Error).message}\n`,
      );
    };
    try {
      const got = this.keys.activeHashes();
      if (got instanceof Promise) return got.then(use, failed);
      use(got);
    } catch (e) {
      failed(e);
    }
  }

  /** The active key with this id (its limits), if any. */
  key(id: string): ActiveKey | undefined {
    return this.byId.get(id);
  }

  /**
   * The key id of a valid request; 401 otherwise (the presented key is never echoed). A promise only when
   * the key is not in memory and the store answers asynchronously (PostgreSQL).
   */
  check(headers: IncomingHttpHeaders): string | Promise<string> {
    const key = presentedKey(headers);
    if (!key)
      throw new HttpError(
        401,
        "authentication_error",
        "missing API key: send 'Authorization: Bearer <key>' (create one with 'fusionkit keys create')",
        "missing_api_key",
      );
    const hash = hashKey(key);
    const known = this.active.get(hash);
    if (known) return known.id;
    // Created since the last refresh? One indexed read; an unknown key stays unknown (nothing cached).
    const accept = (found: ActiveKey | null): string => {
      if (!found) throw new HttpError(401, "authentication_error", "invalid or revoked API key", "invalid_api_key");
      this.active.set(hash, found);
      this.byId.set(found.id, found);
      return found.id;
    };
    const looked = this.keys.activeByHash(hash);
    return looked instanceof Promise ? looked.then(accept) : accept(looked);
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
