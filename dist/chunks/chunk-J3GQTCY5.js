import { createRequire as __gceMatrixCreateRequire } from 'node:module';
import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';
import { dirname as __gceMatrixDirnameOf } from 'node:path';
const require = __gceMatrixCreateRequire(import.meta.url);
const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);
const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);

// src/markdown.ts
function escapeMarkdown(text) {
  return text.replace(/[\u202a-\u202e\u2066-\u2069]/g, "").replace(/[\r\n]+/g, " ").replace(/[\u0000-\u001f\u007f]/g, " ").replace(/[\\`*_{}[\]()<>#+!|~&"'$]/g, (c) => `&#${c.charCodeAt(0)};`).replace(/@/g, "@\u200D").replace(/&#35;/g, "&#35;\u200D").replace(/(gh)-(?=\d)/gi, "$1-\u200D").replace(/:\/\//g, ":\u200B&#47;&#47;").replace(/\bwww\./gi, (w) => `${w.slice(0, 3)}\u200B.`);
}

export {
  escapeMarkdown
};
