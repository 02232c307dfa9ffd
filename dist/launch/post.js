import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  runAction
} from "../chunks/chunk-4MP4RGA5.js";
import {
  post
} from "../chunks/chunk-D44B5FOJ.js";
import "../chunks/chunk-KORLIRFL.js";
import "../chunks/chunk-DOQEDOAC.js";
import "../chunks/chunk-UUAOH4XW.js";
import "../chunks/chunk-FBL4E2ZI.js";
import "../chunks/chunk-7RCCGZCI.js";
import "../chunks/chunk-CN5GVJCX.js";
import "../chunks/chunk-HCOUPLCQ.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/launch/post-main.ts
async function run() {
  await runAction("launch (post)", post);
}

// src/launch/post.ts
await run();
