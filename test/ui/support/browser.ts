import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";

/** Debian's chromium (installed by .ci/run), driven by playwright-core. */
export const CHROMIUM = process.env.FUSIONKIT_CHROMIUM ?? "/usr/bin/chromium";

export interface Headless {
  context: BrowserContext;
  /** Console errors, failed requests and page errors seen so far, across every page of the context. */
  problems: string[];
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** A headless chromium with a fresh profile, no network of its own, and every console error recorded. */
export async function launchHeadless(viewport = { width: 1366, height: 768 }): Promise<Headless> {
  const profile = mkdtempSync(join(tmpdir(), "fusionkit-chromium-"));
  // A persistent context is how playwright takes a --user-data-dir: a fresh one per run.
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  const problems: string[] = [];
  context.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()} (${m.location().url})`);
  });
  context.on("weberror", (e) => problems.push(`page error: ${e.error().message}`));
  context.on("requestfailed", (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ""}`));
  return {
    context,
    problems,
    newPage: () => context.newPage(),
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Wait until the dashboard's page has rendered its first data. */
export async function pageReady(page: Page, name: string): Promise<void> {
  await page.waitForSelector(`main[data-page="${name}"][data-ready="1"]`, { timeout: 20_000 });
}
