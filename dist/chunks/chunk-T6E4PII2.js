import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);
import {
  debug,
  isConfigurationError,
  setFailed
} from "./chunk-F4TJMFJC.js";

// src/action.ts
async function runAction(name, main) {
  try {
    await main();
  } catch (err) {
    if (isConfigurationError(err)) {
      setFailed(`gce-matrix ${name}: ${err.message}`);
    } else {
      const e = err instanceof Error ? err : new Error(String(err));
      debug(e.stack ?? "");
      setFailed(`gce-matrix ${name}: ${e.message}`);
    }
  }
}

export {
  runAction
};
