/**
 * FusionBench groups its tasks into six domains; routers use the domain as a feature and reports
 * group by it. Unknown tasks get no domain rather than a guess.
 */
const DOMAIN_OF_TASK: Record<string, string> = {
  math: "Math",
  gsm8k: "Math",
  "agentverse-mgsm": "Math",
  mbpp: "Code",
  human_eval: "Code",
  humaneval: "Code",
  commonsense_qa: "Commonsense Reasoning",
  openbook_qa: "Commonsense Reasoning",
  arc_challenge: "Commonsense Reasoning",
  hellaswag: "Commonsense Reasoning",
  "agentverse-logicgrid": "Commonsense Reasoning",
  mmlu: "World Knowledge",
  gpqa: "World Knowledge",
  natural_qa: "World Knowledge",
  nq: "World Knowledge",
  trivia_qa: "World Knowledge",
  squad: "Reading Comprehension",
  quac: "Reading Comprehension",
  boolq: "Reading Comprehension",
  commongen: "Popular Knowledge",
};

export function domainOfTask(task: string): string | null {
  const key = task.toLowerCase();
  if (DOMAIN_OF_TASK[key]) return DOMAIN_OF_TASK[key];
  if (key.startsWith("mmlu")) return "World Knowledge";
  return null;
}
