import assert from "node:assert/strict";
import { test } from "node:test";
import { mergeMetrics } from "../../src/serve/metrics-merge.ts";

const worker = (ok: number, alpha: number, beta: number, inFlight: number, delay: number, le1: number) =>
  [
    "# HELP fusionkit_requests_total HTTP requests by route and status.",
    "# TYPE fusionkit_requests_total counter",
    `fusionkit_requests_total{route="chat",status="200"} ${ok}`,
    "# HELP fusionkit_routed_requests_total Chat requests served.",
    "# TYPE fusionkit_routed_requests_total counter",
    `fusionkit_routed_requests_total{model="alpha",virtual_model="fusionkit/auto"} ${alpha}`,
    `fusionkit_routed_requests_total{model="beta",virtual_model="fusionkit/auto"} ${beta}`,
    "# HELP fusionkit_routed_share Share.",
    "# TYPE fusionkit_routed_share gauge",
    `fusionkit_routed_share{model="alpha"} ${alpha / (alpha + beta)}`,
    `fusionkit_routed_share{model="beta"} ${beta / (alpha + beta)}`,
    "# HELP fusionkit_request_duration_seconds Latency.",
    "# TYPE fusionkit_request_duration_seconds histogram",
    `fusionkit_request_duration_seconds_bucket{route="chat",le="1"} ${le1}`,
    `fusionkit_request_duration_seconds_bucket{route="chat",le="+Inf"} ${ok}`,
    `fusionkit_request_duration_seconds_count{route="chat"} ${ok}`,
    "# HELP fusionkit_in_flight_requests In flight.",
    "# TYPE fusionkit_in_flight_requests gauge",
    `fusionkit_in_flight_requests ${inFlight}`,
    "# HELP fusionkit_event_loop_delay_seconds Delay.",
    "# TYPE fusionkit_event_loop_delay_seconds gauge",
    `fusionkit_event_loop_delay_seconds{quantile="1"} ${delay}`,
    "",
  ].join("\n");

test("worker metrics merge: counters and histogram buckets add, shares are recomputed, gauges per rule", () => {
  // Worker 1: 3 alpha, 1 beta; worker 2: 0 alpha, 4 beta → alpha 3/8, beta 5/8 (not the mean of 0.75 and 0).
  const merged = mergeMetrics([worker(4, 3, 1, 2, 0.01, 3), worker(4, 0, 4, 1, 0.05, 4)]);
  const value = (series: string) => {
    const line = merged.split("\n").find((l) => l.startsWith(`${series} `));
    assert.ok(line, `${series} in the merged text`);
    return Number(line.slice(series.length + 1));
  };
  assert.equal(value('fusionkit_requests_total{route="chat",status="200"}'), 8);
  assert.equal(value('fusionkit_routed_share{model="alpha"}'), 3 / 8);
  assert.equal(value('fusionkit_routed_share{model="beta"}'), 5 / 8);
  assert.equal(value('fusionkit_request_duration_seconds_bucket{route="chat",le="1"}'), 7);
  assert.equal(value('fusionkit_request_duration_seconds_count{route="chat"}'), 8);
  assert.equal(value("fusionkit_in_flight_requests"), 3, "in-flight requests add up");
  assert.equal(value('fusionkit_event_loop_delay_seconds{quantile="1"}'), 0.05, "the worst delay");
  assert.equal(merged.match(/# TYPE fusionkit_requests_total counter/g)?.length, 1, "one header per family");
});
