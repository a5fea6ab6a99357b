/**
 * A circuit breaker per upstream model: after `threshold` consecutive failures it opens and the gateway
 * stops sending there for `cooldownMs`; then it lets exactly one probe through (half-open) — success closes
 * it, failure opens it again for another cooldown.
 */

export type BreakerState = "closed" | "open" | "half-open";

interface Circuit {
  failures: number;
  openedAt: number;
  state: BreakerState;
  probing: boolean;
}

export interface BreakerOptions {
  threshold: number;
  cooldownMs: number;
  now?: () => number;
}

export class Breakers {
  private readonly circuits = new Map<string, Circuit>();
  private readonly threshold: number;
  private readonly cooldownMs: number;
  private readonly now: () => number;

  constructor(opts: BreakerOptions) {
    this.threshold = opts.threshold;
    this.cooldownMs = opts.cooldownMs;
    this.now = opts.now ?? Date.now;
  }

  private circuit(name: string): Circuit {
    let c = this.circuits.get(name);
    if (!c) {
      c = { failures: 0, openedAt: 0, state: "closed", probing: false };
      this.circuits.set(name, c);
    }
    return c;
  }

  /** The state as seen now (an open circuit past its cooldown reads as half-open). */
  state(name: string): BreakerState {
    const c = this.circuits.get(name);
    if (!c) return "closed";
    if (c.state === "open" && this.now() - c.openedAt >= this.cooldownMs) return "half-open";
    return c.state;
  }

  /** Whether a request may go to `name` now; a half-open circuit admits one probe at a time. */
  tryAcquire(name: string): boolean {
    const c = this.circuits.get(name);
    if (!c || c.state === "closed") return true;
    if (c.state === "open") {
      if (this.now() - c.openedAt < this.cooldownMs) return false;
      c.state = "half-open";
      c.probing = false;
    }
    if (c.probing) return false;
    c.probing = true;
    return true;
  }

  /** Cheap check used when ranking: would `tryAcquire` admit a request? (no side effects) */
  available(name: string): boolean {
    const c = this.circuits.get(name);
    if (!c || c.state === "closed") return true;
    if (c.state === "open") return this.now() - c.openedAt >= this.cooldownMs;
    return !c.probing;
  }

  success(name: string): void {
    const c = this.circuits.get(name);
    if (!c) return;
    c.failures = 0;
    c.state = "closed";
    c.probing = false;
  }

  failure(name: string): void {
    const c = this.circuit(name);
    c.failures++;
    if (c.state === "half-open" || c.failures >= this.threshold) {
      c.state = "open";
      c.openedAt = this.now();
      c.probing = false;
    }
  }

  /** A request admitted by tryAcquire ended without a verdict on the upstream (client went away, 4xx). */
  release(name: string): void {
    const c = this.circuits.get(name);
    if (c?.state === "half-open") c.probing = false;
  }

  openCircuits(): string[] {
    const out: string[] = [];
    for (const name of this.circuits.keys()) if (this.state(name) !== "closed") out.push(name);
    return out;
  }
}
