export function distState(root: string): "current" | "stale" | "missing";
