/**
 * Bundles every action into one self-contained ESM file under dist/<action>/ with esbuild.
 * `node scripts/build.ts` writes dist/; `node scripts/build.ts --check` fails when the committed dist/ is stale.
 */
import { build } from 'esbuild';
import type { Dirent } from 'node:fs';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** dist path (without .js) -> source entry, for every bundled action entry point. */
export const ACTION_ENTRIES: Record<string, string> = {};

// @actions/* and the Google libraries still call require() in places; an ESM bundle needs one.
const BANNER = [
  "import { createRequire as __gceMatrixCreateRequire } from 'node:module';",
  'const require = __gceMatrixCreateRequire(import.meta.url);',
].join('\n');

/** Bundles `entries` (output name -> source file) into `outdir`, as the actions ship them. */
export async function bundle(entries: Record<string, string>, outdir: string): Promise<void> {
  if (Object.keys(entries).length === 0) return;
  await build({
    entryPoints: Object.fromEntries(Object.entries(entries).map(([out, src]) => [out, path.resolve(root, src)])),
    outdir,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    splitting: false,
    minify: false,
    legalComments: 'none',
    banner: { js: BANNER },
    loader: { '.sh': 'text' },
    logLevel: 'warning',
    // Compute ships its proto descriptors as JSON that the v1 clients require() at run time: esbuild inlines them.
    mainFields: ['module', 'main'],
  });
}

async function listFiles(dir: string, base = dir): Promise<string[]> {
  let names: Dirent[];
  try {
    names = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const e of names) {
    const full = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...(await listFiles(full, base)));
    else out.push(path.relative(base, full));
  }
  return out.sort();
}

async function check(): Promise<number> {
  const tmp = await mkdtemp(path.join(tmpdir(), 'gce-matrix-dist-'));
  try {
    await bundle(ACTION_ENTRIES, tmp);
    const fresh = await listFiles(tmp);
    const committed = await listFiles(path.join(root, 'dist'));
    const stale: string[] = [];
    for (const f of new Set([...fresh, ...committed])) {
      const a = fresh.includes(f) ? await readFile(path.join(tmp, f)) : undefined;
      const b = committed.includes(f) ? await readFile(path.join(root, 'dist', f)) : undefined;
      if (!a || !b || !a.equals(b)) stale.push(f);
    }
    if (stale.length > 0) {
      console.error(`dist/ is stale (${stale.join(', ')}): run \`npm run build\` and commit dist/.`);
      return 1;
    }
    console.log(`dist/ is up to date (${fresh.length} files).`);
    return 0;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  if (process.argv.includes('--check')) {
    process.exitCode = await check();
  } else {
    await rm(path.join(root, 'dist'), { recursive: true, force: true });
    await bundle(ACTION_ENTRIES, path.join(root, 'dist'));
  }
}
