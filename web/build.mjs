// Builds the workspace into dist/: one bundled script (our modules and the vendored npm
// packages, no CDN, nothing fetched at run time) and the static files.
import { build } from "esbuild";
import { cpSync, mkdirSync } from "node:fs";

mkdirSync("dist", { recursive: true });
await build({
  entryPoints: ["src/main.js"], bundle: true, format: "esm", target: ["es2022"],
  outfile: "dist/app.js", minify: true, sourcemap: false, legalComments: "eof",
  logLevel: "warning",
});
for (const name of ["index.html", "app.css", "favicon.svg"]) cpSync(`static/${name}`, `dist/${name}`);
console.log("workspace built into web/dist");
