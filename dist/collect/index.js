import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  run
} from "../chunks/chunk-BEIR27II.js";
import "../chunks/chunk-DJH5P62P.js";
import "../chunks/chunk-OBM4C3YD.js";
import "../chunks/chunk-TLXG6UPP.js";
import "../chunks/chunk-WEZX2YKL.js";
import "../chunks/chunk-QUTAAEM7.js";
import {
  runAction
} from "../chunks/chunk-223UMF5V.js";
import "../chunks/chunk-TVQJ4HKQ.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/collect/index.ts
await runAction("collect", run);
