// Bundles the npm packages for the browser (one IIFE file per SDK generation, served to Chromium by the tests).
import { build } from "esbuild";

const common = { bundle: true, format: "iife", platform: "browser", target: "chrome120", logLevel: "warning" };
await build({ ...common, entryPoints: ["entry.js"], outfile: "dist/decart-sdk.js" });
await build({ ...common, entryPoints: ["entry-lk.js"], outfile: "dist/decart-sdk-lk.js" });
console.log("bundled dist/decart-sdk.js (0.0.46) and dist/decart-sdk-lk.js (0.1.20)");
