import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  run
} from "../chunks/chunk-7A6NFOKQ.js";
import {
  runAction
} from "../chunks/chunk-2TP625P2.js";
import "../chunks/chunk-L6BWFJUO.js";
import "../chunks/chunk-MFJUMJEF.js";
import "../chunks/chunk-2CTBM5IU.js";
import "../chunks/chunk-SW2PZEV6.js";
import "../chunks/chunk-P7ID7MDH.js";
import "../chunks/chunk-QCBMVUVD.js";
import "../chunks/chunk-QUTAAEM7.js";
import "../chunks/chunk-UEQNVQMM.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/collect/index.ts
await runAction("collect", run);
