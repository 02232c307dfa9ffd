import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  runAction
} from "../chunks/chunk-PH65XGPB.js";
import {
  post
} from "../chunks/chunk-SKQ47XHL.js";
import "../chunks/chunk-A2MX4JHI.js";
import "../chunks/chunk-SCOGJ6CG.js";
import "../chunks/chunk-2I2SBKWT.js";
import "../chunks/chunk-RJG2KN6R.js";
import "../chunks/chunk-Y4MLEO7Q.js";
import "../chunks/chunk-76YYHQNR.js";
import "../chunks/chunk-QCBMVUVD.js";
import "../chunks/chunk-HXMBV5WF.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/launch/post.ts
await runAction("launch (post)", post);
