import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  runAction
} from "../chunks/chunk-OGHS24ND.js";
import {
  post
} from "../chunks/chunk-ELTUTCHP.js";
import "../chunks/chunk-66OBQNE5.js";
import "../chunks/chunk-WDYHRXYP.js";
import "../chunks/chunk-PMEOYZ2U.js";
import "../chunks/chunk-HYROZFKP.js";
import "../chunks/chunk-CITZSBUV.js";
import "../chunks/chunk-POAYJMSU.js";
import "../chunks/chunk-QCBMVUVD.js";
import "../chunks/chunk-4TDRVGQU.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/launch/post.ts
await runAction("launch (post)", post);
