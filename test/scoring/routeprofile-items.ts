import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO } from "../helpers.ts";

/** One query of the bundled RouteProfile file, with every model's recorded response and score. */
export interface RPItem {
  task_name: string;
  query: string;
  ground_truth: string;
  metric: string;
  model_performance: Record<string, { response: string; task_performance: number }>;
}

/** The bundled RouteProfile queries as published (data/routeprofile/route_data/routing_test_data.json). */
export function routeProfileItems(): RPItem[] {
  return JSON.parse(
    readFileSync(join(REPO, "data/routeprofile/route_data/routing_test_data.json"), "utf8"),
  ) as RPItem[];
}
