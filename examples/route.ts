// Route a query from a TypeScript program. Usage: tsx examples/route.ts router.json "What is 17 × 23?"
// (router.json: written by `fusionkit train --router knn --out router.json`).
import { loadRouter, routeQuery } from "fusionkit";

const { ranked } = await routeQuery(loadRouter(process.argv[2] ?? "router.json"), process.argv[3] ?? "What is 17 × 23?");
console.log(JSON.stringify(ranked.map((r) => ({ model: r.key, score: r.score, reason: r.reason }))));
