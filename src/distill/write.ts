import { mkdirSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { DistillSet } from "./build.ts";
import { datasetInfo, type ExportFormat, FILE_OF, serialise } from "./formats.ts";
import { distillMarkdown } from "./report.ts";

/** Write to a temporary name, then rename: a crash never leaves a half-written export behind. */
function writeAtomic(path: string, text: string): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, text);
  renameSync(tmp, path);
}

export interface WrittenFiles {
  files: Record<string, string>;
}

/** Write the chosen formats, the LLaMA-Factory registry entry, provenance and the reports into `dir`. */
export function writeDistillSet(
  dir: string,
  set: DistillSet,
  formats: readonly ExportFormat[],
  command: string,
  prefix = "fusionkit",
): WrittenFiles {
  mkdirSync(dir, { recursive: true });
  const files: Record<string, string> = {};
  for (const f of formats) {
    const path = join(dir, FILE_OF[f]);
    writeAtomic(path, serialise(f, set.sft, set.pairs));
    files[f] = path;
  }
  files.datasetInfo = join(dir, "dataset_info.json");
  writeAtomic(files.datasetInfo, `${JSON.stringify(datasetInfo(formats, prefix), null, 2)}\n`);
  files.provenance = join(dir, "provenance.jsonl");
  writeAtomic(files.provenance, set.sftSources.map((s) => `${JSON.stringify(s)}\n`).join(""));
  files.reportJson = join(dir, "report.json");
  writeAtomic(
    files.reportJson,
    `${JSON.stringify({ ...set.stats, formats, files: Object.fromEntries(formats.map((f) => [f, FILE_OF[f]])) }, null, 2)}\n`,
  );
  files.reportMd = join(dir, "report.md");
  writeAtomic(files.reportMd, distillMarkdown(set, formats, command));
  return { files };
}
