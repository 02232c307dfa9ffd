import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  runAction
} from "../chunks/chunk-LXHN3ZAN.js";
import {
  post
} from "../chunks/chunk-X2OEKU4I.js";
import "../chunks/chunk-5ZG7EZ4W.js";
import "../chunks/chunk-EZXCW2AY.js";
import "../chunks/chunk-EH724CNZ.js";
import "../chunks/chunk-NFVGSOZZ.js";
import "../chunks/chunk-VY7LGB47.js";
import "../chunks/chunk-QCBMVUVD.js";
import "../chunks/chunk-AEMUHN6J.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/launch/post-main.ts
async function run() {
  await runAction("launch (post)", post);
}

// src/launch/post.ts
await run();
