import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { rendezvous, rendezvousWeight, Sessions, sessionChoice } from "../../src/serve/sessions.ts";

describe("session choice: rendezvous hashing over the ranked candidates", () => {
  // Hand-checked with coreutils: printf 's1\0a' | sha256sum → ae5166525fcc…, 's1\0b' → b9f833b1ea3f…,
  // 's1\0c' → 51bca820f9ca…; 's2\0a' → ecd1a56c63b1…, 's2\0b' → 81fbee438f98…, 's2\0c' → 8f79b91e6f66….
  test("the weight is the first 48 bits of SHA-256(session NUL candidate); the highest wins", () => {
    assert.equal(rendezvousWeight("s1", "b"), 0xb9f833b1ea3f);
    assert.equal(rendezvous("s1", ["a", "b", "c"]), 1, "s1: b (b9f8… > ae51… > 51bc…)");
    assert.equal(rendezvous("s2", ["a", "b", "c"]), 0, "s2: a (ecd1… > 8f79… > 81fb…)");
    assert.equal(rendezvous("s1", ["c", "a"]), 1, "s1 without b: a (ae51… > 51bc…), whatever the order");
    assert.equal(rendezvous("s1", []), -1);
  });

  test("dropping a candidate moves only the sessions that had it", () => {
    const all = ["m0", "m1", "m2", "m3", "m4"];
    const rest = all.filter((m) => m !== "m2");
    let moved = 0;
    for (let i = 0; i < 2000; i++) {
      const before = all[rendezvous(`conv-${i}`, all)];
      const after = rest[rendezvous(`conv-${i}`, rest)];
      if (before === "m2") moved++;
      else assert.equal(after, before, `conv-${i} stays on ${before}`);
    }
    // Each candidate gets about a fifth of the sessions.
    assert.ok(moved > 300 && moved < 500, `${moved} of 2000 sessions had m2`);
  });

  test("tolerance: 0 keeps the top candidate; otherwise the hash chooses among those near the top", () => {
    const ranked = [
      { key: "a", score: 0.9 },
      { key: "b", score: 0.88 },
      { key: "c", score: 0.5 },
    ];
    assert.equal(sessionChoice("s1", ranked, 0), 0);
    // Within 0.05 of the top: a and b; s1 hashes b over a (see above), s2 a over b.
    assert.equal(sessionChoice("s1", ranked, 0.05), 1);
    assert.equal(sessionChoice("s2", ranked, 0.05), 0);
    // Within 0.5: all three; s1 still b.
    assert.equal(sessionChoice("s1", ranked, 0.5), 1);
    assert.equal(sessionChoice("s1", [], 0.5), -1);
  });
});

describe("Sessions: this process's remembered choices", () => {
  test("bounded LRU with a time-to-live renewed on use", () => {
    const s = new Sessions(2, 1000);
    s.set("x", "a", 0);
    s.set("y", "b", 0);
    assert.equal(s.get("x", 900), "a", "use renews x (until 1900) and makes y the least recent");
    s.set("z", "c", 900);
    assert.equal(s.get("y", 900), null, "y evicted");
    assert.equal(s.get("x", 1800), "a");
    assert.equal(s.get("z", 2000), null, "z expired at 1900");
    s.clear();
    assert.equal(s.size, 0);
  });
});
