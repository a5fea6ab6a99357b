import { UsageError } from "../data/errors.ts";
import type { Store } from "../data/store.ts";
import type { LoadedRouter } from "./virtual.ts";

/** Load router artifacts for serving, keyed by label (router name, made unique). */
export async function loadRouters(
  specs: string[],
  _store: Store,
  _embedCache: number,
): Promise<Map<string, LoadedRouter>> {
  const out = new Map<string, LoadedRouter>();
  if (specs.length) throw new UsageError("router artifacts are not loadable yet");
  return out;
}
