// Bundles the npm packages for the browser (one IIFE file per SDK generation, served to Chromium by the tests).
import { copyFileSync } from "node:fs";
import { build } from "esbuild";

const common = { bundle: true, format: "iife", platform: "browser", target: "chrome120", logLevel: "warning" };
await build({ ...common, entryPoints: ["entry.js"], outfile: "dist/decart-sdk.js" });
// 0.1.20 as an ES module: its glass-to-glass measurement starts livekit-client's frame-metadata worker from
// new URL("./frame-metadata-worker.js", import.meta.url), which only an ES module can resolve; the worker file it
// ships is served next to the bundle.
await build({ ...common, format: "esm", entryPoints: ["entry-lk.js"], outfile: "dist/decart-sdk-lk.js" });
copyFileSync("node_modules/@decartai/sdk-lk/dist/realtime/browser/frame-metadata-worker.js", "dist/frame-metadata-worker.js");
console.log("bundled dist/decart-sdk.js (0.0.46), dist/decart-sdk-lk.js (0.1.20, ESM) and its frame-metadata worker");
