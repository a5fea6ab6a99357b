/**
 * A closed-loop HTTP/1.1 load generator for bench/gateway.ts, run as its own process so it does not share an
 * event loop with anything it measures. Each of N keep-alive connections sends a POST, waits for the whole
 * response (Content-Length or chunked, so SSE streams are read to their last byte), and sends the next.
 * It speaks raw HTTP over node:net (a prebuilt request buffer, a minimal response parser) to cost as little
 * CPU as possible on a 2-core machine.
 *
 * Phases, on the same connections:
 *  - warm-up (`warmupSec`): connections are opened all at once and used; excluded from the measurement but
 *    reported as "cold": the first request of every fresh connection (it includes the TCP connect and waiting
 *    in the server's accept queue) and all warm-up requests.
 *  - measurement (`durationSec`): requests sent in this window; the ones still in flight at its end are
 *    awaited (up to the timeout), so slow requests are not dropped from the figures.
 *
 *   node --import tsx bench/support/loadgen.ts <spec.json>     prints one JSON line (LoadResult) on stdout
 */
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";

export interface LoadSpec {
  /** e.g. http://127.0.0.1:8787/v1/chat/completions */
  url: string;
  connections: number;
  warmupSec: number;
  durationSec: number;
  timeoutMs: number;
  /** Request bodies, cycled through per request. */
  bodies: string[];
}

export interface PhaseResult {
  /** Latencies (ms) of answered requests, any status. */
  lat: number[];
  sent: number;
  responses: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** Wall time of the phase's sending window, s. */
  seconds: number;
}

export interface LoadResult {
  /** First request on each fresh connection (connect + accept queue + first response). */
  first: number[];
  warmup: PhaseResult;
  measure: PhaseResult;
}

const emptyPhase = (): PhaseResult => ({
  lat: [],
  sent: 0,
  responses: 0,
  non2xx: 0,
  errors: 0,
  timeouts: 0,
  seconds: 0,
});

/** Incremental parser of one HTTP/1.1 response: returns the status once the whole message has arrived. */
class ResponseReader {
  private buf: Buffer = Buffer.alloc(0);
  private status = 0;
  private headerEnd = -1;
  private bodyLength = -1;
  private chunked = false;
  private pos = 0;

  push(data: Buffer): number | null {
    this.buf = this.buf.length === 0 ? data : Buffer.concat([this.buf, data]);
    if (this.headerEnd < 0) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return null;
      const head = this.buf.toString("latin1", 0, end).toLowerCase();
      this.status = Number(head.slice(9, 12));
      const cl = /\r\ncontent-length: *(\d+)/.exec(head);
      this.chunked = /\r\ntransfer-encoding: *chunked/.test(head);
      this.bodyLength = cl ? Number(cl[1]) : -1;
      this.headerEnd = end + 4;
      this.pos = this.headerEnd;
    }
    if (!this.chunked) {
      if (this.bodyLength < 0) throw new Error("response without Content-Length or chunked encoding");
      return this.buf.length - this.headerEnd >= this.bodyLength ? this.done() : null;
    }
    // Chunks: <hex size>\r\n<data>\r\n ... 0\r\n\r\n (no trailers expected).
    for (;;) {
      const eol = this.buf.indexOf("\r\n", this.pos);
      if (eol < 0) return null;
      const size = Number.parseInt(this.buf.toString("latin1", this.pos, eol), 16);
      if (size === 0) return this.buf.length >= eol + 4 ? this.done() : null;
      const next = eol + 2 + size + 2;
      if (this.buf.length < next) return null;
      this.pos = next;
    }
  }

  private done(): number {
    const s = this.status;
    this.buf = Buffer.alloc(0);
    this.headerEnd = -1;
    this.pos = 0;
    return s;
  }
}

export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const url = new URL(spec.url);
  const port = Number(url.port) || 80;
  const requests = spec.bodies.map((b) =>
    Buffer.from(
      `POST ${url.pathname}${url.search} HTTP/1.1\r\nHost: ${url.host}\r\nContent-Type: application/json\r\n` +
        `Content-Length: ${Buffer.byteLength(b)}\r\n\r\n${b}`,
    ),
  );
  const result: LoadResult = { first: [], warmup: emptyPhase(), measure: emptyPhase() };
  const start = performance.now();
  const measureAt = start + spec.warmupSec * 1000;
  const endAt = measureAt + spec.durationSec * 1000;
  let k = 0;
  let inFlight = 0;
  let allDone: () => void = () => {};
  const finished = new Promise<void>((r) => {
    allDone = r;
  });

  const phaseOf = (t: number) => (t < measureAt ? result.warmup : result.measure);

  function open(): void {
    const socket: Socket = connect({ host: url.hostname, port, noDelay: true });
    const reader = new ResponseReader();
    let sentAt = 0;
    let phase = result.warmup;
    let first = true;
    let timer: NodeJS.Timeout | null = null;
    let busy = false;

    const send = () => {
      const now = performance.now();
      if (now >= endAt) {
        socket.destroy();
        return;
      }
      sentAt = now;
      phase = phaseOf(now);
      phase.sent++;
      busy = true;
      inFlight++;
      timer = setTimeout(() => settle("timeout"), spec.timeoutMs);
      socket.write(requests[k++ % requests.length]);
    };
    const settle = (outcome: number | "error" | "timeout") => {
      if (!busy) return;
      busy = false;
      inFlight--;
      if (timer) clearTimeout(timer);
      const ms = performance.now() - sentAt;
      if (outcome === "timeout") phase.timeouts++;
      else if (outcome === "error") phase.errors++;
      else {
        phase.responses++;
        phase.lat.push(ms);
        if (outcome < 200 || outcome > 299) phase.non2xx++;
        if (first) result.first.push(ms);
      }
      first = false;
      if (typeof outcome === "number") send();
      else {
        socket.destroy();
        if (performance.now() < endAt) open(); // a failed connection is replaced, as a client would
      }
      if (inFlight === 0 && performance.now() >= endAt) allDone();
    };
    socket.on("data", (d: Buffer) => {
      let status: number | null;
      try {
        status = reader.push(d);
      } catch {
        settle("error");
        return;
      }
      if (status !== null) settle(status);
    });
    socket.on("error", () => settle("error"));
    socket.on("close", () => settle("error"));
    send(); // written once connected (net queues writes until then): the first latency includes the connect
  }

  for (let i = 0; i < spec.connections; i++) open();
  // Resolve even if no connection was busy when the window closed.
  const closer = setInterval(() => {
    if (performance.now() >= endAt && inFlight === 0) allDone();
  }, 50);
  await finished;
  clearInterval(closer);
  result.warmup.seconds = spec.warmupSec;
  result.measure.seconds = spec.durationSec;
  return result;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) {
  const spec = JSON.parse(readFileSync(process.argv[2], "utf8")) as LoadSpec;
  const r = await runLoad(spec);
  // Exit only once the (possibly large) line is flushed: stdout to a pipe is asynchronous.
  process.stdout.write(`${JSON.stringify(r)}\n`, () => process.exit(0));
}
