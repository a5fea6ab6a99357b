import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { test } from "node:test";

/**
 * Issue 12: `fusionkit route` crashed once in ~34 runs under load with "Backend 'wasm' has not yet been
 * initialized". @energetic-ai/core starts the WASM backend without awaiting it, and initModel() loads the
 * weights (creating tensors) while awaiting it. Here the backend is made slower than the weights — as on
 * a busy machine — and the encoder must still load and embed.
 */
interface TfEngine {
  findBackendFactory(name: string): () => Promise<unknown>;
  removeBackend(name: string): void;
  registerBackend(name: string, factory: () => Promise<unknown>, priority: number): boolean;
  setBackend(name: string): Promise<boolean>;
}

test("USE loads and embeds even when the WASM backend initialises slower than the weights load", async () => {
  const tf = createRequire(import.meta.url)("@energetic-ai/core") as TfEngine;
  const factory = tf.findBackendFactory("wasm");
  tf.removeBackend("wasm");
  tf.registerBackend(
    "wasm",
    async () => {
      await new Promise((r) => setTimeout(r, 6000));
      return factory();
    },
    2,
  );
  // As @energetic-ai/core does when it loads: start the backend, do not await it.
  void tf.setBackend("wasm");
  const { UseEmbedder } = await import("../../src/embed/use.ts");
  const [v] = await new UseEmbedder().embed(["How many muffins does she sell?"]);
  assert.equal(v.length, 512);
  const norm = Math.sqrt(v.reduce((a, x) => a + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-5, `unit vector, norm ${norm}`);
});
