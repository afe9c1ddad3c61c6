// Bundles the npm package for the browser (one IIFE file the test serves to Chromium).
import { build } from "esbuild";

await build({
  entryPoints: ["entry.js"],
  bundle: true,
  format: "iife",
  platform: "browser",
  target: "chrome120",
  outfile: "dist/decart-sdk.js",
  logLevel: "warning",
});
console.log("bundled dist/decart-sdk.js");
