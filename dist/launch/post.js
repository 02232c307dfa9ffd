import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  runAction
} from "../chunks/chunk-2TP625P2.js";
import {
  post
} from "../chunks/chunk-N44MV7C6.js";
import "../chunks/chunk-EWDLZUYX.js";
import "../chunks/chunk-RWFZX3SV.js";
import "../chunks/chunk-7PJ4ZGRB.js";
import "../chunks/chunk-SGH33AVK.js";
import "../chunks/chunk-IROX7BVM.js";
import "../chunks/chunk-P7ID7MDH.js";
import "../chunks/chunk-QCBMVUVD.js";
import "../chunks/chunk-UEQNVQMM.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/launch/post.ts
await runAction("launch (post)", post);
