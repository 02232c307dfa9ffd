import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  runAction
} from "../chunks/chunk-NZFLOCCC.js";
import {
  post
} from "../chunks/chunk-Y475Y7DO.js";
import "../chunks/chunk-GA7Y2XHT.js";
import "../chunks/chunk-S33MGTOW.js";
import "../chunks/chunk-RENVZMWJ.js";
import "../chunks/chunk-3Y5IHQFX.js";
import "../chunks/chunk-KL354AE6.js";
import "../chunks/chunk-66KU2QE3.js";
import "../chunks/chunk-USOZTD4I.js";
import "../chunks/chunk-QCBMVUVD.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/launch/post.ts
await runAction("launch (post)", post);
