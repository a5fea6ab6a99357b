/**
 * Parameter count in billions from a model's size label ("7B", "0.5B", "350M", "8x7B", "46.7b"), or null
 * when the label is missing or not a size (then the model cannot be shown to be small).
 */
export function parseParamsB(size: string | null | undefined): number | null {
  if (!size) return null;
  const m = /^\s*(?:(\d+)\s*[x×]\s*)?(\d+(?:\.\d+)?)\s*([bmk])\s*$/i.exec(size);
  if (!m) return null;
  const experts = m[1] ? Number(m[1]) : 1;
  const value = Number(m[2]) * experts;
  const unit = (m[3] as string).toLowerCase();
  return unit === "b" ? value : unit === "m" ? value / 1e3 : value / 1e6;
}
