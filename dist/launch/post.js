import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  runAction
} from "../chunks/chunk-X4EBP34W.js";
import {
  post
} from "../chunks/chunk-4JES3HA4.js";
import "../chunks/chunk-47U27TVK.js";
import "../chunks/chunk-K3Y6XK57.js";
import "../chunks/chunk-6P4N23CM.js";
import "../chunks/chunk-SUQMYN5M.js";
import "../chunks/chunk-JXMR3WNU.js";
import "../chunks/chunk-U5XA42CB.js";
import "../chunks/chunk-QCBMVUVD.js";
import "../chunks/chunk-F4ZOD4JQ.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/launch/post.ts
await runAction("launch (post)", post);
