import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  runAction
} from "../chunks/chunk-2MUEK6QF.js";
import {
  post
} from "../chunks/chunk-SHJCCWTT.js";
import "../chunks/chunk-CQ3732XD.js";
import "../chunks/chunk-C7UDEKQJ.js";
import "../chunks/chunk-PJSKPG63.js";
import "../chunks/chunk-L7JD2ZNC.js";
import "../chunks/chunk-QW2DTW2M.js";
import "../chunks/chunk-44245US3.js";
import "../chunks/chunk-CN5GVJCX.js";
import "../chunks/chunk-JQUUWNOK.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/launch/post-main.ts
async function run() {
  await runAction("launch (post)", post);
}

// src/launch/post.ts
await run();
