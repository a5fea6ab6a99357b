/**
 * Prometheus metrics kept as plain numbers in maps keyed by the rendered label set, so recording a request
 * costs a few map updates and nothing is allocated per request beyond the label string.
 */

import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import type { ExchangeLogStats } from "./log.ts";

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

class Histogram {
  readonly counts = new Float64Array(LATENCY_BUCKETS.length);
  sum = 0;
  count = 0;
  observe(seconds: number): void {
    this.sum += seconds;
    this.count++;
    for (let i = 0; i < LATENCY_BUCKETS.length; i++)
      if (seconds <= LATENCY_BUCKETS[i]) {
        this.counts[i]++;
        break;
      }
  }
}

export function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export class Metrics {
  private readonly requests = new Map<string, number>();
  private readonly errors = new Map<string, number>();
  private readonly routed = new Map<string, number>();
  private readonly spend = new Map<string, number>();
  private readonly fallbacks = new Map<string, number>();
  private readonly latency = new Map<string, Histogram>();
  private readonly tokens = new Map<string, number>();
  inFlight = 0;
  breakerOpen: () => string[] = () => [];
  exchangeLog: () => ExchangeLogStats | null = () => null;
  /** Unexpected errors reported by where they happened (serve/report.ts). */
  unexpected: () => Map<string, number> = () => new Map();
  /** Event-loop delay: what every request waits when the gateway is CPU-bound or blocked. */
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.loopDelay.enable();
  }

  close(): void {
    this.loopDelay.disable();
  }

  private static add(map: Map<string, number>, key: string, by = 1): void {
    map.set(key, (map.get(key) ?? 0) + by);
  }

  /** One finished request on `route` (e.g. "chat") with its HTTP status and total latency. */
  request(route: string, status: number, seconds: number): void {
    const key = `route="${route}",status="${status}"`;
    Metrics.add(this.requests, key);
    let h = this.latency.get(route);
    if (!h) {
      h = new Histogram();
      this.latency.set(route, h);
    }
    h.observe(seconds);
  }

  error(type: string): void {
    Metrics.add(this.errors, `type="${escapeLabel(type)}"`);
  }

  /** A request served by `model` (what the routed share is computed from) and what it cost. */
  served(model: string, virtual: string, cost: number, inputTokens: number, outputTokens: number): void {
    const m = escapeLabel(model);
    Metrics.add(this.routed, `model="${m}",virtual_model="${escapeLabel(virtual)}"`);
    Metrics.add(this.spend, `model="${m}"`, cost);
    Metrics.add(this.tokens, `model="${m}",kind="input"`, inputTokens);
    Metrics.add(this.tokens, `model="${m}",kind="output"`, outputTokens);
  }

  fallback(fromModel: string, reason: string): void {
    Metrics.add(this.fallbacks, `model="${escapeLabel(fromModel)}",reason="${escapeLabel(reason)}"`);
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): string {
    const out: string[] = [];
    const counter = (name: string, help: string, map: Map<string, number>, type = "counter") => {
      out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
      for (const [labels, v] of map) out.push(`${name}{${labels}} ${v}`);
    };
    counter("fusionkit_requests_total", "HTTP requests by route and status.", this.requests);
    counter("fusionkit_errors_total", "Errors by type.", this.errors);
    counter(
      "fusionkit_routed_requests_total",
      "Chat requests served, by upstream model and requested model.",
      this.routed,
    );
    // Routed share: the fraction of served chat requests each model took.
    const byModel = new Map<string, number>();
    let total = 0;
    for (const [labels, v] of this.routed) {
      const model = labels.slice(0, labels.indexOf(",virtual_model="));
      byModel.set(model, (byModel.get(model) ?? 0) + v);
      total += v;
    }
    out.push(
      "# HELP fusionkit_routed_share Share of served chat requests per upstream model.",
      "# TYPE fusionkit_routed_share gauge",
    );
    for (const [model, v] of byModel) out.push(`fusionkit_routed_share{${model}} ${total ? v / total : 0}`);
    counter("fusionkit_spend_usd_total", "Upstream spend in USD by model.", this.spend);
    counter("fusionkit_tokens_total", "Tokens by model and kind.", this.tokens);
    counter(
      "fusionkit_fallbacks_total",
      "Attempts abandoned for the next candidate, by model and reason.",
      this.fallbacks,
    );
    out.push(
      "# HELP fusionkit_request_duration_seconds Request latency (to the last byte) by route.",
      "# TYPE fusionkit_request_duration_seconds histogram",
    );
    for (const [route, h] of this.latency) {
      let cumulative = 0;
      for (let i = 0; i < LATENCY_BUCKETS.length; i++) {
        cumulative += h.counts[i];
        out.push(
          `fusionkit_request_duration_seconds_bucket{route="${route}",le="${LATENCY_BUCKETS[i]}"} ${cumulative}`,
        );
      }
      out.push(
        `fusionkit_request_duration_seconds_bucket{route="${route}",le="+Inf"} ${h.count}`,
        `fusionkit_request_duration_seconds_sum{route="${route}"} ${h.sum}`,
        `fusionkit_request_duration_seconds_count{route="${route}"} ${h.count}`,
      );
    }
    out.push(
      "# HELP fusionkit_in_flight_requests Requests being served now.",
      "# TYPE fusionkit_in_flight_requests gauge",
      `fusionkit_in_flight_requests ${this.inFlight}`,
      "# HELP fusionkit_circuit_open Upstreams whose circuit breaker is open (1).",
      "# TYPE fusionkit_circuit_open gauge",
    );
    for (const name of this.breakerOpen()) out.push(`fusionkit_circuit_open{upstream="${escapeLabel(name)}"} 1`);
    const log = this.exchangeLog();
    if (log) {
      out.push(
        "# HELP fusionkit_exchange_log_rows_total Exchange rows by fate: written to the store, or dropped.",
        "# TYPE fusionkit_exchange_log_rows_total counter",
        `fusionkit_exchange_log_rows_total{result="written"} ${log.written}`,
        `fusionkit_exchange_log_rows_total{result="dropped"} ${log.dropped}`,
        "# HELP fusionkit_exchange_log_pending Exchange rows buffered, not yet in the store.",
        "# TYPE fusionkit_exchange_log_pending gauge",
        `fusionkit_exchange_log_pending ${log.pending}`,
        "# HELP fusionkit_exchange_log_write_failures_total Failed exchange-log writes (rows kept and retried), by reason.",
        "# TYPE fusionkit_exchange_log_write_failures_total counter",
      );
      for (const [reason, n] of log.failures)
        out.push(`fusionkit_exchange_log_write_failures_total{reason="${escapeLabel(reason)}"} ${n}`);
    }
    out.push(
      "# HELP fusionkit_unexpected_errors_total Unexpected errors caught (the process kept serving), by where.",
      "# TYPE fusionkit_unexpected_errors_total counter",
    );
    for (const [where, n] of this.unexpected())
      out.push(`fusionkit_unexpected_errors_total{where="${escapeLabel(where)}"} ${n}`);
    const d = this.loopDelay;
    out.push(
      "# HELP fusionkit_event_loop_delay_seconds Event-loop delay since start (p50, p99, max).",
      "# TYPE fusionkit_event_loop_delay_seconds gauge",
      `fusionkit_event_loop_delay_seconds{quantile="0.5"} ${d.percentile(50) / 1e9}`,
      `fusionkit_event_loop_delay_seconds{quantile="0.99"} ${d.percentile(99) / 1e9}`,
      `fusionkit_event_loop_delay_seconds{quantile="1"} ${d.max / 1e9}`,
    );
    return `${out.join("\n")}\n`;
  }
}
