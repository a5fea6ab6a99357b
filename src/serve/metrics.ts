/**
 * The gateway's Prometheus metrics, on prom-client with a registry per gateway (several gateways in one process,
 * as in tests, do not share counters). Recording a request is a few counter increments; gauges that describe
 * state (in flight, open circuits, routed share, event-loop delay, exchange log) are computed when scraped.
 */

import { type IntervalHistogram, monitorEventLoopDelay } from "node:perf_hooks";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { ExchangeLogStats } from "./log.ts";

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

/** A label value in the text format (for metrics rendered outside prom-client, e.g. per-key spend). */
export function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");
}

export class Metrics {
  private readonly registry = new Registry();
  private readonly requests: Counter<"route" | "status">;
  private readonly errors: Counter<"type">;
  private readonly routed: Counter<"model" | "virtual_model">;
  private readonly spend: Counter<"model">;
  private readonly tokens: Counter<"model" | "kind">;
  private readonly fallbacks: Counter<"model" | "reason">;
  private readonly exploredRequests: Counter<"model">;
  private readonly exploredSpend: Counter;
  private readonly exploredExtra: Counter;
  private readonly latency: Histogram<"route">;
  /** Served requests per upstream model, for the routed share. */
  private readonly servedBy = new Map<string, number>();
  private servedTotal = 0;
  inFlight = 0;
  breakerOpen: () => string[] = () => [];
  exchangeLog: () => ExchangeLogStats | null = () => null;
  /** Unexpected errors reported by where they happened (serve/report.ts). */
  unexpected: () => Map<string, number> = () => new Map();
  /** Event-loop delay: what every request waits when the gateway is CPU-bound or blocked. */
  private readonly loopDelay: IntervalHistogram = monitorEventLoopDelay({ resolution: 10 });

  constructor() {
    this.loopDelay.enable();
    const registers = [this.registry];
    this.requests = new Counter({
      name: "fusionkit_requests_total",
      help: "HTTP requests by route and status.",
      labelNames: ["route", "status"],
      registers,
    });
    this.errors = new Counter({
      name: "fusionkit_errors_total",
      help: "Errors by type.",
      labelNames: ["type"],
      registers,
    });
    this.routed = new Counter({
      name: "fusionkit_routed_requests_total",
      help: "Chat requests served, by upstream model and requested model.",
      labelNames: ["model", "virtual_model"],
      registers,
    });
    const self = this;
    new Gauge({
      name: "fusionkit_routed_share",
      help: "Share of served chat requests per upstream model.",
      labelNames: ["model"],
      registers,
      collect() {
        this.reset();
        for (const [model, n] of self.servedBy) this.set({ model }, n / self.servedTotal);
      },
    });
    this.spend = new Counter({
      name: "fusionkit_spend_usd_total",
      help: "Upstream spend in USD by model.",
      labelNames: ["model"],
      registers,
    });
    this.tokens = new Counter({
      name: "fusionkit_tokens_total",
      help: "Tokens by model and kind.",
      labelNames: ["model", "kind"],
      registers,
    });
    this.fallbacks = new Counter({
      name: "fusionkit_fallbacks_total",
      help: "Attempts abandoned for the next candidate, by model and reason.",
      labelNames: ["model", "reason"],
      registers,
    });
    this.exploredRequests = new Counter({
      name: "fusionkit_explored_requests_total",
      help: "Routed requests --explore sent to the runner-up instead of the first-ranked candidate, by the model that served.",
      labelNames: ["model"],
      registers,
    });
    this.exploredSpend = new Counter({
      name: "fusionkit_explored_spend_usd_total",
      help: "Upstream spend in USD of the explored requests.",
      registers,
    });
    this.exploredExtra = new Counter({
      name: "fusionkit_explored_extra_cost_usd_total",
      help: "Predicted extra cost in USD of exploring: the runner-up's predicted cost over the first-ranked candidate's, where higher.",
      registers,
    });
    this.latency = new Histogram({
      name: "fusionkit_request_duration_seconds",
      help: "Request latency (to the last byte) by route.",
      labelNames: ["route"],
      buckets: LATENCY_BUCKETS,
      registers,
    });
    new Gauge({
      name: "fusionkit_in_flight_requests",
      help: "Requests being served now.",
      registers,
      collect() {
        this.set(self.inFlight);
      },
    });
    new Gauge({
      name: "fusionkit_circuit_open",
      help: "Upstreams whose circuit breaker is open (1).",
      labelNames: ["upstream"],
      registers,
      collect() {
        this.reset();
        for (const upstream of self.breakerOpen()) this.set({ upstream }, 1);
      },
    });
    new Counter({
      name: "fusionkit_exchange_log_rows_total",
      help: "Exchange rows by fate: written to the store, or dropped.",
      labelNames: ["result"],
      registers,
      collect() {
        const log = self.exchangeLog();
        this.reset();
        if (!log) return;
        this.inc({ result: "written" }, log.written);
        this.inc({ result: "dropped" }, log.dropped);
      },
    });
    new Gauge({
      name: "fusionkit_exchange_log_pending",
      help: "Exchange rows buffered, not yet in the store.",
      registers,
      collect() {
        this.set(self.exchangeLog()?.pending ?? 0);
      },
    });
    new Counter({
      name: "fusionkit_exchange_log_write_failures_total",
      help: "Failed exchange-log writes (rows kept and retried), by reason.",
      labelNames: ["reason"],
      registers,
      collect() {
        this.reset();
        for (const [reason, n] of self.exchangeLog()?.failures ?? []) this.inc({ reason }, n);
      },
    });
    new Counter({
      name: "fusionkit_unexpected_errors_total",
      help: "Unexpected errors caught (the process kept serving), by where.",
      labelNames: ["where"],
      registers,
      collect() {
        this.reset();
        for (const [where, n] of self.unexpected()) this.inc({ where }, n);
      },
    });
    new Gauge({
      name: "fusionkit_event_loop_delay_seconds",
      help: "Event-loop delay since start (p50, p99, max).",
      labelNames: ["quantile"],
      registers,
      collect() {
        const d = self.loopDelay;
        this.set({ quantile: "0.5" }, d.percentile(50) / 1e9);
        this.set({ quantile: "0.99" }, d.percentile(99) / 1e9);
        this.set({ quantile: "1" }, d.max / 1e9);
      },
    });
  }

  close(): void {
    this.loopDelay.disable();
  }

  /** One finished request on `route` (e.g. "chat") with its HTTP status and total latency. */
  request(route: string, status: number, seconds: number): void {
    this.requests.inc({ route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }

  error(type: string): void {
    this.errors.inc({ type });
  }

  /** A request served by `model` (what the routed share is computed from) and what it cost. */
  served(model: string, virtual: string, cost: number, inputTokens: number, outputTokens: number): void {
    this.routed.inc({ model, virtual_model: virtual });
    this.servedBy.set(model, (this.servedBy.get(model) ?? 0) + 1);
    this.servedTotal++;
    this.spend.inc({ model }, cost);
    this.tokens.inc({ model, kind: "input" }, inputTokens);
    this.tokens.inc({ model, kind: "output" }, outputTokens);
  }

  /** A request `--explore` sent to the runner-up: what it cost, and its predicted cost over the first-ranked one's. */
  explored(model: string, cost: number, predictedExtraCost: number): void {
    this.exploredRequests.inc({ model });
    this.exploredSpend.inc(cost);
    // A Counter only goes up: a runner-up predicted cheaper adds nothing here (its saving shows in the spend).
    if (predictedExtraCost > 0) this.exploredExtra.inc(predictedExtraCost);
  }

  fallback(fromModel: string, reason: string): void {
    this.fallbacks.inc({ model: fromModel, reason });
  }

  /** Prometheus text exposition format 0.0.4. */
  render(): Promise<string> {
    return this.registry.metrics();
  }
}
