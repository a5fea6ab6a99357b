import { readdirSync, readFileSync, statSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, extname, join, relative, sep } from "node:path";

/**
 * The dashboard's files, all served from the package: its own pages and scripts (src/ui/public) and the
 * browser builds of Observable Plot and d3 from node_modules — nothing from a CDN. Read once at startup.
 */

export const PUBLIC_DIR = join(import.meta.dirname, "public");

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".png": "image/png",
};

export interface Asset {
  body: Buffer;
  type: string;
  /** Vendor builds are versioned files: cache them; our own files are re-checked on each load. */
  immutable: boolean;
}

/** Browser builds of the plotting libraries, found where Node resolves the packages. */
export function vendorFiles(): Record<string, string> {
  const require = createRequire(import.meta.url);
  const plotDir = dirname(dirname(require.resolve("@observablehq/plot")));
  const d3Dir = dirname(createRequire(join(plotDir, "package.json")).resolve("d3"));
  return {
    "vendor/plot.umd.min.js": join(plotDir, "dist", "plot.umd.min.js"),
    "vendor/d3.min.js": join(d3Dir, "d3.min.js"),
  };
}

export function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const file = join(dir, name);
      if (statSync(file).isDirectory()) walk(file);
      else {
        const type = TYPES[extname(name)];
        if (type)
          assets.set(relative(PUBLIC_DIR, file).split(sep).join("/"), {
            body: readFileSync(file),
            type,
            immutable: false,
          });
      }
    }
  };
  walk(PUBLIC_DIR);
  for (const [path, file] of Object.entries(vendorFiles()))
    assets.set(path, { body: readFileSync(file), type: TYPES[".js"] as string, immutable: true });
  return assets;
}
