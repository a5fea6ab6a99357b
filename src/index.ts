/**
 * FusionKit as a library: `import { loadRouter, routeQuery } from "fusionkit"`. What the CLI does, callable
 * from TypeScript: import routing data into the store, train / load / rank with routers, evaluate them,
 * call models through the chat client, and run the gateway in-process.
 */

// Routing data: the store, importers, splits.
export { DataError, UsageError } from "./data/errors.ts";
export { importPath } from "./data/import.ts";
export type { Importer, ImportOptions } from "./data/importers/importer.ts";
export { detectImporter, IMPORTERS, importerByName } from "./data/importers/index.ts";
export { stratifiedSplit } from "./data/split.ts";
export { DEFAULT_DB, type ImportSummary, type QueryFilter, Store } from "./data/store.ts";
export type * from "./data/types.ts";
// Embedders.
export type { Embedder } from "./embed/embedder.ts";
export { createEmbedder, DEFAULT_EMBEDDER, type EmbedderOptions } from "./embed/registry.ts";
// Evaluation.
export {
  type EvalResult,
  type EvaluateOptions,
  evaluateRouters,
  type RouterEntry,
  type RouterResult,
} from "./eval/evaluate.ts";
export { type RunEvaluationOptions, runEvaluation } from "./eval/run.ts";
// Models: providers file and the chat client.
export { type ClientOptions, OpenAIChatClient, type Spend } from "./llm/client.ts";
export { loadProviders, type ProvidersConfig, parseProviders } from "./llm/providers.ts";
export type { ChatClient, ChatMessage, ChatRequest, ChatResult, ChatStreamEvent } from "./llm/types.ts";
// Routers.
export {
  type LoadedArtifact,
  loadRouter,
  loadRouterFromStore,
  saveRouter,
  saveRouterToStore,
  type TrainOptions,
  trainRouter,
} from "./routing/artifacts.ts";
export { buildTrainingSet, datasetCandidateKeys, type TrainingSetOptions, toRouteQuery } from "./routing/dataset.ts";
export { DEFAULT_KNOB, type Knob, parseKnob, predictionRow, rank, SCENARIOS, scaleFor } from "./routing/objective.ts";
export { createRouter, ROUTER_NAMES, type RouterParams } from "./routing/registry.ts";
export { type RoutedQuery, type RouteQueryOptions, routeQuery } from "./routing/route-query.ts";
export type { CandidateInfo, Prediction, RankedCandidate, RouteQuery, Router, TrainingSet } from "./routing/router.ts";
// The gateway.
export { loadRouters } from "./serve/load.ts";
export { DEFAULT_BODY_LIMIT, type RunningGateway, type ServeOptions, startGateway } from "./serve/server.ts";
export { AUTO, type VirtualModel } from "./serve/virtual.ts";
