import type { Command } from "commander";
import { formatTable } from "../../report/text-table.ts";
import { loadRouter } from "../../routing/artifacts.ts";
import { knobLabel, parseKnob } from "../../routing/objective.ts";
import { routeQuery } from "../../routing/route-query.ts";
import { printJson } from "../options.ts";

export function registerRoute(program: Command): void {
  program
    .command("route")
    .description("rank every candidate for one query with a trained router artifact")
    .argument("<query>", "the query text")
    .requiredOption("--router-artifact <file>", "artifact written by fusionkit train")
    .option("--task <task>", "the query's task (a strong feature when the router knows it)")
    .option("--domain <domain>", "the query's domain")
    .option("--scenario <name>", "knob: performance-first, balance, cost-first, llm-judge (default: the artifact's)")
    .option("--lambda <number>", "knob: willingness to pay (performance points per USD)")
    .option("--json", "print one JSON object")
    .action(
      async (
        text: string,
        opts: {
          routerArtifact: string;
          task?: string;
          domain?: string;
          scenario?: string;
          lambda?: string;
          json?: boolean;
        },
      ) => {
        const loaded = loadRouter(opts.routerArtifact);
        const { query, knob, ranked } = await routeQuery(loaded, text, {
          task: opts.task,
          domain: opts.domain,
          knob: opts.scenario || opts.lambda ? parseKnob(opts.scenario, opts.lambda) : undefined,
        });
        if (opts.json) return printJson({ query: text, task: query.task, router: loaded.name, knob, ranked });
        process.stdout.write(
          `${loaded.name} (${loaded.source}), knob ${knobLabel(knob)}${query.task ? `, task ${query.task}` : ""}: send to ${ranked[0].key}\n`,
        );
        process.stdout.write(
          formatTable(
            ["#", "candidate", "pred. perf", "pred. cost", "score", "reason"],
            ranked.map((r, i) => [
              String(i + 1),
              r.key,
              // A candidate a policy rules out (auto's "always X" predicts −∞ for the others) or cannot score: "—".
              Number.isFinite(r.predictedPerformance) ? r.predictedPerformance.toFixed(3) : "—",
              `$${r.predictedCost.toExponential(2)}`,
              Number.isFinite(r.score) ? r.score.toPrecision(4) : "—",
              r.reason,
            ]),
          ),
        );
      },
    );
}
