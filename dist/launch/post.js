import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  runAction
} from "../chunks/chunk-T6E4PII2.js";
import {
  post
} from "../chunks/chunk-3XTCVRLP.js";
import "../chunks/chunk-7KWXIUHV.js";
import "../chunks/chunk-VRTZOPY4.js";
import "../chunks/chunk-S3KYGDOF.js";
import "../chunks/chunk-UXA2X36L.js";
import "../chunks/chunk-YT5EBHMA.js";
import "../chunks/chunk-QCBMVUVD.js";
import "../chunks/chunk-F4TJMFJC.js";
import "../chunks/chunk-PDSOAN7B.js";

// src/launch/post-main.ts
async function run() {
  await runAction("launch (post)", post);
}

// src/launch/post.ts
await run();
