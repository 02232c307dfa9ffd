/**
 * Bundles every action into one self-contained ESM file under dist/<action>/ with esbuild.
 * `node scripts/build.ts` writes dist/; `node scripts/build.ts --check` fails when the committed dist/ is stale.
 */
import { build } from 'esbuild';
import type { Plugin } from 'esbuild';
import type { Dirent } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** dist path (without .js) -> source entry, for every bundled action entry point. */
export const ACTION_ENTRIES: Record<string, string> = {
  'launch/index': 'src/launch/index.ts',
  'launch/post': 'src/launch/post.ts',
  'plan/index': 'src/plan/index.ts',
  'collect/index': 'src/collect/index.ts',
  'report/index': 'src/report/index.ts',
  'janitor/index': 'src/janitor/index.ts',
  'watch/index': 'src/watch/index.ts',
  'cli/index': 'src/cli/index.ts',
};

/** Files the bundles read at run time, copied beside them (same relative path as in src/). */
export const RUNTIME_FILES: Record<string, string> = {
  'agent/agent.sh': 'src/agent/agent.sh',
};

// The Google libraries and some @actions/* dependencies still call require() and read __dirname: an ESM
// bundle has to provide them. __dirname and __filename go through `define` rather than the banner, so that a
// bundled ES module that declares its own keeps it.
const BANNER = [
  "import { createRequire as __gceMatrixCreateRequire } from 'node:module';",
  "import { fileURLToPath as __gceMatrixFileURLToPath } from 'node:url';",
  "import { dirname as __gceMatrixDirnameOf } from 'node:path';",
  'const require = __gceMatrixCreateRequire(import.meta.url);',
  'const __gceMatrixFilename = __gceMatrixFileURLToPath(import.meta.url);',
  'const __gceMatrixDirname = __gceMatrixDirnameOf(__gceMatrixFilename);',
].join('\n');

/**
 * Compute's clients require() one 12 MB descriptor file covering v1, v1beta and v1small. gce-matrix uses v1
 * only: keep that part, as one compact JSON string rather than a pretty-printed object literal.
 */
const computeV1Protos: Plugin = {
  name: 'compute-v1-protos',
  setup(b) {
    b.onLoad({ filter: /@google-cloud[\\/]compute[\\/]build[\\/]protos[\\/]protos\.json$/ }, async (args) => {
      const protos = JSON.parse(await readFile(args.path, 'utf8')) as {
        nested: {
          google: { nested: { cloud: { nested: { compute: { nested: Record<string, unknown> } } } } };
        };
      };
      const versions = protos.nested.google.nested.cloud.nested.compute.nested;
      for (const version of Object.keys(versions)) if (version !== 'v1') delete versions[version];
      return {
        contents: `module.exports = JSON.parse(${JSON.stringify(JSON.stringify(protos))});`,
        loader: 'js',
      };
    });
  },
};

/** Bundles `entries` (output name -> source file) into `outdir`, as the actions ship them. */
export async function bundle(entries: Record<string, string>, outdir: string): Promise<void> {
  if (Object.keys(entries).length === 0) return;
  for (const [out, src] of Object.entries(RUNTIME_FILES)) {
    const target = path.join(outdir, out);
    await mkdir(path.dirname(target), { recursive: true });
    await copyFile(path.resolve(root, src), target);
  }
  await build({
    entryPoints: Object.fromEntries(
      Object.entries(entries).map(([out, src]) => [out, path.resolve(root, src)]),
    ),
    outdir,
    // Module comments in the bundles name paths relative to the checkout; a node_modules that is a link (a
    // second checkout sharing the first's modules) must give the same bundles, so links are not followed.
    absWorkingDir: root,
    preserveSymlinks: true,
    bundle: true,
    platform: 'node',
    target: 'node24',
    format: 'esm',
    splitting: true,
    chunkNames: 'chunks/[name]-[hash]',
    plugins: [computeV1Protos],
    minify: false,
    legalComments: 'none',
    banner: { js: BANNER },
    define: { __dirname: '__gceMatrixDirname', __filename: '__gceMatrixFilename' },
    loader: { '.sh': 'text' },
    logLevel: 'warning',
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
