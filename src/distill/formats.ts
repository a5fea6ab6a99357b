/**
 * Fine-tuning export formats. Each writer turns the same records into one file in the shape its trainer
 * reads; `datasetInfo` is the LLaMA-Factory registry entry for the files written, so
 * `dataset_info.json` can be dropped into LLaMA-Factory's data folder as is.
 */

/** One supervised example: a prompt and a response to imitate. */
export interface SftRecord {
  system?: string;
  prompt: string;
  response: string;
}

/** One preference pair: the same prompt with a better and a worse response. */
export interface PreferenceRecord {
  system?: string;
  prompt: string;
  chosen: string;
  rejected: string;
}

export type ExportFormat = "alpaca" | "openai" | "sharegpt" | "dpo";
export const EXPORT_FORMATS: readonly ExportFormat[] = ["alpaca", "openai", "sharegpt", "dpo"];

export const FILE_OF: Record<ExportFormat, string> = {
  alpaca: "alpaca.json",
  openai: "openai.jsonl",
  sharegpt: "sharegpt.json",
  dpo: "dpo.jsonl",
};

export function parseFormats(value: string): ExportFormat[] {
  const out: ExportFormat[] = [];
  for (const f of value
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)) {
    if (!(EXPORT_FORMATS as readonly string[]).includes(f))
      throw new RangeError(`unknown format "${f}" (have: ${EXPORT_FORMATS.join(", ")})`);
    if (!out.includes(f as ExportFormat)) out.push(f as ExportFormat);
  }
  if (out.length === 0) throw new RangeError("no export format given");
  return out;
}

/** Alpaca (LLaMA-Factory): instruction / input / output, optional system. */
export interface AlpacaItem {
  instruction: string;
  input: string;
  output: string;
  system?: string;
}

export function toAlpaca(r: SftRecord): AlpacaItem {
  return { instruction: r.prompt, input: "", output: r.response, ...(r.system ? { system: r.system } : {}) };
}

/** OpenAI chat fine-tuning: one {"messages": [...]} object per line. */
export interface OpenAiChatItem {
  messages: Array<{ role: "system" | "user" | "assistant"; content: string }>;
}

export function toOpenAi(r: SftRecord): OpenAiChatItem {
  return {
    messages: [
      ...(r.system ? [{ role: "system" as const, content: r.system }] : []),
      { role: "user", content: r.prompt },
      { role: "assistant", content: r.response },
    ],
  };
}

/** ShareGPT: conversations of {from: human|gpt, value}, system beside them. */
export interface ShareGptItem {
  conversations: Array<{ from: "human" | "gpt"; value: string }>;
  system?: string;
}

export function toShareGpt(r: SftRecord): ShareGptItem {
  return {
    conversations: [
      { from: "human", value: r.prompt },
      { from: "gpt", value: r.response },
    ],
    ...(r.system ? { system: r.system } : {}),
  };
}

/**
 * DPO pair with TRL's standard string fields (prompt / chosen / rejected), which LLaMA-Factory reads as an
 * Alpaca-format ranking dataset through the column mapping in `datasetInfo`.
 */
export interface DpoItem {
  prompt: string;
  chosen: string;
  rejected: string;
  system?: string;
}

export function toDpo(r: PreferenceRecord): DpoItem {
  return { prompt: r.prompt, chosen: r.chosen, rejected: r.rejected, ...(r.system ? { system: r.system } : {}) };
}

/** Serialise records in a format: a JSON array for alpaca/sharegpt, JSON lines for openai/dpo. */
export function serialise(format: ExportFormat, sft: readonly SftRecord[], pairs: readonly PreferenceRecord[]): string {
  switch (format) {
    case "alpaca":
      return `${JSON.stringify(sft.map(toAlpaca), null, 1)}\n`;
    case "sharegpt":
      return `${JSON.stringify(sft.map(toShareGpt), null, 1)}\n`;
    case "openai":
      return sft.map((r) => `${JSON.stringify(toOpenAi(r))}\n`).join("");
    case "dpo":
      return pairs.map((r) => `${JSON.stringify(toDpo(r))}\n`).join("");
  }
}

/** LLaMA-Factory dataset_info.json entries for the formats written, named `<prefix>_<format>`. */
export function datasetInfo(formats: readonly ExportFormat[], prefix: string): Record<string, unknown> {
  const info: Record<string, unknown> = {};
  for (const f of formats) {
    const file_name = FILE_OF[f];
    if (f === "alpaca")
      info[`${prefix}_alpaca`] = {
        file_name,
        columns: { prompt: "instruction", query: "input", response: "output", system: "system" },
      };
    else if (f === "sharegpt")
      info[`${prefix}_sharegpt`] = {
        file_name,
        formatting: "sharegpt",
        columns: { messages: "conversations", system: "system" },
        tags: { role_tag: "from", content_tag: "value", user_tag: "human", assistant_tag: "gpt" },
      };
    else if (f === "openai")
      info[`${prefix}_openai`] = {
        file_name,
        formatting: "sharegpt",
        columns: { messages: "messages" },
        tags: {
          role_tag: "role",
          content_tag: "content",
          user_tag: "user",
          assistant_tag: "assistant",
          system_tag: "system",
        },
      };
    else
      info[`${prefix}_dpo`] = {
        file_name,
        ranking: true,
        columns: { prompt: "prompt", chosen: "chosen", rejected: "rejected", system: "system" },
      };
  }
  return info;
}
