import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);

// src/markdown.ts
function escapeMarkdown(text) {
  return text.replace(/[\r\n]+/g, " ").replace(/[\\`*_{}[\]()<>#+!|~&"']/g, (c) => `&#${c.charCodeAt(0)};`).replace(/@/g, "@\u200D").replace(/:\/\//g, ":&#47;&#47;");
}

export {
  escapeMarkdown
};
