import assert from "node:assert/strict";
import { test } from "node:test";
import { parsePyLiteral, pyListField } from "../../src/data/importers/pyliteral.ts";

test("Python literals: quotes, escapes, None/True/False, nesting", () => {
  assert.deepEqual(parsePyLiteral(`['a', "b's", None, True, False, 1.5, -2, 3e2]`), [
    "a",
    "b's",
    null,
    true,
    false,
    1.5,
    -2,
    300,
  ]);
  assert.deepEqual(parsePyLiteral(String.raw`['it\'s', 'tab\there', 'nl\nx', '\x41\u00e9', 'back\\slash', '\d']`), [
    "it's",
    "tab\there",
    "nl\nx",
    "Aé",
    "back\\slash",
    "\\d",
  ]);
  assert.deepEqual(parsePyLiteral("{'pass@1': 0.5}"), { "pass@1": 0.5 });
  assert.deepEqual(parsePyLiteral("{'text': ['1', '2'], 'labels': ('A', 'B',)}"), {
    text: ["1", "2"],
    labels: ["A", "B"],
  });
  assert.deepEqual(parsePyLiteral("[]"), []);
  assert.deepEqual(parsePyLiteral("[u'x', r'a\\b']"), ["x", "a\\b"]);
  assert.ok(Number.isNaN(parsePyLiteral("nan")));
  // JSON is read too.
  assert.deepEqual(parsePyLiteral('[null, true, "x"]'), [null, true, "x"]);
});

test("Python literals: errors say where", () => {
  assert.throws(() => parsePyLiteral("['a', 'b'"), /unexpected end of text/);
  assert.throws(() => parsePyLiteral("['a' 'b']"), /unexpected "'" \(expected "," or "]"\) at character 6/);
  assert.throws(() => parsePyLiteral("['a'] x"), /trailing text/);
  assert.throws(
    () => pyListField("['a', ", { file: "f.json", line: 3, unit: "item" }, "perf_list"),
    /^DataError: f\.json:item 3, field "perf_list": not a Python\/JSON list literal/,
  );
  assert.throws(
    () => pyListField("{'a': 1}", { file: "f.json", line: 3 }, "gt"),
    /field "gt": expected a list, got object/,
  );
});
