import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  runAction
} from "../chunks/chunk-EX3GEEC4.js";
import {
  post
} from "../chunks/chunk-CMKZDR32.js";
import "../chunks/chunk-I6OMP7A6.js";
import "../chunks/chunk-ZRQJNKAC.js";
import "../chunks/chunk-QUXJ3ANL.js";
import "../chunks/chunk-AY5BRON6.js";
import "../chunks/chunk-7UF2N2CX.js";
import "../chunks/chunk-JVCTALI6.js";
import "../chunks/chunk-CN5GVJCX.js";
import "../chunks/chunk-P2QXPG2L.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/launch/post.ts
await runAction("launch (post)", post);
