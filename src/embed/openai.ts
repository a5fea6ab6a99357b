import OpenAI from "openai";
import { type Embedder, normalize } from "./embedder.ts";

export interface OpenAIEmbedderOptions {
  model: string;
  /** e.g. "http://localhost:8080/v1" (TEI, vLLM), "http://localhost:11434/v1" (Ollama), "https://api.openai.com/v1". */
  baseURL: string;
  /** Name of the environment variable holding the API key; local servers usually need none. */
  apiKeyEnv?: string;
  /** Texts per request. */
  batchSize?: number;
  /** Retries per request on connection errors, 408/409/429 and 5xx (exponential backoff, honours Retry-After). */
  maxRetries?: number;
  timeoutMs?: number;
}

/** A base URL without a path gets "/v1", the prefix every OpenAI-compatible server serves `/embeddings` under. */
export function normalizeBaseURL(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(`embedding endpoint "${url}" is not a valid URL (expected e.g. http://localhost:8080/v1)`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:")
    throw new Error(`embedding endpoint "${url}" must be http(s)`);
  const path = parsed.pathname.replace(/\/+$/, "");
  return `${parsed.origin}${path === "" ? "/v1" : path}`;
}

/**
 * Any OpenAI-compatible `/v1/embeddings` endpoint (OpenAI, TEI, vLLM, Ollama) via the official client.
 * The dimension is whatever the server returns: `dim` is 0 until the first call answers.
 */
export class OpenAIEmbedder implements Embedder {
  readonly name: string;
  readonly model: string;
  readonly baseURL: string;
  private readonly client: OpenAI;
  private readonly batchSize: number;
  private dimension = 0;

  constructor(opts: OpenAIEmbedderOptions) {
    if (!opts.model) throw new Error("embedding model name is empty (spec: openai:<model>@<baseURL>)");
    this.model = opts.model;
    this.baseURL = normalizeBaseURL(opts.baseURL);
    this.name = `openai:${this.model}@${this.baseURL}`;
    this.batchSize = opts.batchSize ?? 64;
    const keyEnv = opts.apiKeyEnv ?? "OPENAI_API_KEY";
    this.client = new OpenAI({
      baseURL: this.baseURL,
      // The client refuses to start without a key; local servers ignore it.
      apiKey: process.env[keyEnv] || "no-key",
      maxRetries: opts.maxRetries ?? 3,
      timeout: opts.timeoutMs ?? 60_000,
    });
  }

  get dim(): number {
    return this.dimension;
  }

  async embed(texts: string[]): Promise<Float32Array[]> {
    const out: Float32Array[] = [];
    for (let start = 0; start < texts.length; start += this.batchSize) {
      const batch = texts.slice(start, start + this.batchSize);
      let res: OpenAI.CreateEmbeddingResponse;
      try {
        // "float" explicitly: the client otherwise asks for base64, which Ollama and some TEI versions lack.
        res = await this.client.embeddings.create({ model: this.model, input: batch, encoding_format: "float" });
      } catch (err) {
        throw new Error(
          `embedding request to ${this.baseURL}/embeddings (model "${this.model}") failed: ${String(err)}`,
        );
      }
      out.push(...this.vectorsOf(res, batch.length));
    }
    return out;
  }

  /** Check the answer's shape (one finite vector per input, consistent dimension) and order it by `index`. */
  private vectorsOf(res: OpenAI.CreateEmbeddingResponse, expected: number): Float32Array[] {
    const where = `${this.baseURL}/embeddings (model "${this.model}")`;
    const data = Array.isArray(res?.data) ? res.data : null;
    if (!data || data.length !== expected)
      throw new Error(`${where} returned ${data ? data.length : "no"} embeddings for ${expected} inputs`);
    const slots: Float32Array[] = new Array(expected);
    data.forEach((d, pos) => {
      const i = typeof d.index === "number" ? d.index : pos;
      const e = d.embedding as unknown;
      if (!Array.isArray(e) || e.length === 0 || !e.every((x) => typeof x === "number" && Number.isFinite(x)))
        throw new Error(`${where}: data[${pos}].embedding is not a non-empty array of finite numbers`);
      if (i < 0 || i >= expected || slots[i])
        throw new Error(`${where}: data[${pos}].index ${i} is out of range or repeated`);
      if (this.dimension === 0) this.dimension = e.length;
      else if (e.length !== this.dimension)
        throw new Error(
          `${where}: data[${pos}].embedding has ${e.length} dimensions, earlier ones had ${this.dimension}`,
        );
      slots[i] = normalize(Float32Array.from(e as number[]));
    });
    return slots;
  }
}
