import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirname } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __filename = __gceMatrixFileURLToPath(import.meta.url);
const __dirname = __gceMatrixDirname(__filename);
import {
  require_dist2 as require_dist
} from "./chunk-3DYGLFFZ.js";
import "./chunk-WRCASVXO.js";
export default require_dist();
