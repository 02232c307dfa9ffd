/**
 * Generates each action's inputs and outputs tables from its action.yml into its documentation, between marker
 * comments (`<!-- action-docs:inputs -->` ... `<!-- action-docs:end -->`, the same for outputs).
 * `node scripts/action-docs.ts` writes them; `node scripts/action-docs.ts --check` exits 1 naming the stale files.
 */
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';
import { parse } from 'yaml';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** An action's metadata file and the markdown file its tables live in, both relative to the repository root. */
export interface ActionDoc {
  readonly metadata: string;
  readonly doc: string;
}

/** One input of an action.yml. */
export interface ActionInput {
  readonly name: string;
  readonly description: string;
  readonly required: boolean;
  /** undefined when the input has no default. */
  readonly default: string | undefined;
}

/** One output of an action.yml. */
export interface ActionOutput {
  readonly name: string;
  readonly description: string;
}

/** What the tables are made of. */
export interface ActionMetadata {
  readonly inputs: readonly ActionInput[];
  readonly outputs: readonly ActionOutput[];
}

/** The two generated regions of a document. */
export type Region = 'inputs' | 'outputs';

/** The line that ends every generated region. */
export const END_MARKER = '<!-- action-docs:end -->';

/** The line that starts the region of `kind`. */
export function startMarker(kind: Region): string {
  return `<!-- action-docs:${kind} -->`;
}

/**
 * The plan step (root action.yml) is documented in docs/matrix.md beside the spec format; every other action in
 * actions/NAME/README.md.
 */
export async function actionDocs(dir: string = root): Promise<ActionDoc[]> {
  const docs: ActionDoc[] = [{ metadata: 'action.yml', doc: 'docs/matrix.md' }];
  const entries = await readdir(path.join(dir, 'actions'), { withFileTypes: true });
  for (const e of entries.filter((x) => x.isDirectory()).sort((a, b) => a.name.localeCompare(b.name))) {
    docs.push({ metadata: `actions/${e.name}/action.yml`, doc: `actions/${e.name}/README.md` });
  }
  return docs;
}

function scalar(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean')
    return String(value);
  return undefined;
}

function entries(value: unknown, what: string, label: string): [string, Record<string, unknown>][] {
  if (value === undefined || value === null) return [];
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw new Error(`${label}: ${what} must be a mapping of names`);
  }
  return Object.entries(value as Record<string, unknown>).map(([name, spec]) => {
    if (!spec || typeof spec !== 'object' || Array.isArray(spec)) {
      throw new Error(`${label}: ${what.replace(/s$/, '')} ${name} must be a mapping with a description`);
    }
    return [name, spec as Record<string, unknown>];
  });
}

/**
 * Reads the inputs and outputs of an action.yml, in file order. Every one must have a description: a table row
 * that says nothing is how documentation goes stale.
 */
export function parseActionMetadata(text: string, label: string): ActionMetadata {
  const doc = parse(text) as Record<string, unknown> | null;
  if (!doc || typeof doc !== 'object') throw new Error(`${label} is not a YAML mapping`);
  const described = (kind: string, name: string, spec: Record<string, unknown>): string => {
    const description = typeof spec.description === 'string' ? spec.description.trim() : '';
    if (!description) throw new Error(`${label}: ${kind} ${name} has no description; write one`);
    return description;
  };
  return {
    inputs: entries(doc.inputs, 'inputs', label).map(([name, spec]) => {
      const fallback = scalar(spec.default);
      return {
        name,
        description: described('input', name, spec),
        required: spec.required === true || spec.required === 'true',
        default: fallback === '' ? undefined : fallback,
      };
    }),
    outputs: entries(doc.outputs, 'outputs', label).map(([name, spec]) => ({
      name,
      description: described('output', name, spec),
    })),
  };
}

/**
 * A description as one table cell: lines of a paragraph joined with spaces (as markdown renders them), paragraphs
 * separated by `<br><br>`, and `|` escaped so it cannot end the cell.
 */
export function tableCell(text: string): string {
  return text
    .trim()
    .split(/\n[ \t]*\n\s*/)
    .map((paragraph) => paragraph.replace(/\s*\n\s*/g, ' ').trim())
    .join('<br><br>')
    .replace(/\|/g, '\\|');
}

/** `text` as an inline code span, fenced with more backticks than it holds, for a table cell. */
export function codeCell(text: string): string {
  const flat = text.replace(/\s*\n\s*/g, ' ');
  const longest = Math.max(0, ...[...flat.matchAll(/`+/g)].map((m) => m[0].length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`.replace(/\|/g, '\\|');
}

function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n') + '\n';
}

/** The inputs table (input, required, default, description), unformatted. */
export function inputsTable(meta: ActionMetadata): string {
  if (meta.inputs.length === 0) return 'This action has no inputs.\n';
  return table(
    ['input', 'required', 'default', 'description'],
    meta.inputs.map((i) => [
      codeCell(i.name),
      i.required ? 'yes' : 'no',
      i.default === undefined ? '' : codeCell(i.default),
      tableCell(i.description),
    ]),
  );
}

/** The outputs table (output, description), unformatted. */
export function outputsTable(meta: ActionMetadata): string {
  if (meta.outputs.length === 0) return 'This action has no outputs.\n';
  return table(
    ['output', 'description'],
    meta.outputs.map((o) => [codeCell(o.name), tableCell(o.description)]),
  );
}

/**
 * Puts `body` between the start marker of `kind` and the end marker that follows it, each on a line of its own.
 * A document without that region, with it twice, or without its end is an error naming `label`.
 */
export function replaceRegion(text: string, kind: Region, body: string, label: string): string {
  const start = startMarker(kind);
  const lines = text.split('\n');
  const starts = lines.flatMap((l, i) => (l.trim() === start ? [i] : []));
  if (starts.length !== 1) {
    throw new Error(
      starts.length === 0
        ? `${label} has no ${start} line; add one, then ${END_MARKER}, where the ${kind} table belongs`
        : `${label} has ${starts.length} ${start} lines; keep one`,
    );
  }
  const first = starts[0] ?? 0;
  const end = lines.findIndex((l, i) => i > first && l.trim() === END_MARKER);
  const nextStart = lines.findIndex(
    (l, i) => i > first && l.trim().startsWith('<!-- action-docs:') && l.trim() !== END_MARKER,
  );
  if (end < 0 || (nextStart >= 0 && nextStart < end)) {
    throw new Error(`${label}: ${start} is not followed by ${END_MARKER}`);
  }
  return [...lines.slice(0, first + 1), '', body.replace(/\n+$/, ''), '', ...lines.slice(end)].join('\n');
}

/** Formats markdown as the repository's `prettier --check` expects it. */
export async function formatMarkdown(markdown: string): Promise<string> {
  const config = (await resolveConfig(path.join(root, 'README.md'))) ?? {};
  return format(markdown, { ...config, parser: 'markdown' });
}

/** The document with both of its regions regenerated from the action's metadata. */
export async function renderDoc(
  docText: string,
  metadataText: string,
  labels: { readonly metadata: string; readonly doc: string },
): Promise<string> {
  const meta = parseActionMetadata(metadataText, labels.metadata);
  let text = replaceRegion(docText, 'inputs', await formatMarkdown(inputsTable(meta)), labels.doc);
  text = replaceRegion(text, 'outputs', await formatMarkdown(outputsTable(meta)), labels.doc);
  return text;
}

async function readDoc(dir: string, file: string, metadata: string): Promise<string> {
  try {
    return await readFile(path.join(dir, file), 'utf8');
  } catch {
    throw new Error(`${file} is missing: every action needs one with the tables of ${metadata}`);
  }
}

/** The documents under `dir` whose tables differ from their action.yml; with `write`, rewritten. */
export async function updateDocs(dir: string = root, write = false): Promise<string[]> {
  const stale: string[] = [];
  for (const a of await actionDocs(dir)) {
    const metadata = await readFile(path.join(dir, a.metadata), 'utf8');
    const current = await readDoc(dir, a.doc, a.metadata);
    const fresh = await renderDoc(current, metadata, a);
    if (fresh === current) continue;
    stale.push(a.doc);
    if (write) await writeFile(path.join(dir, a.doc), fresh);
  }
  return stale;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const check = process.argv.includes('--check');
  try {
    const stale = await updateDocs(root, !check);
    if (check && stale.length > 0) {
      console.error(
        `The inputs/outputs tables are stale in ${stale.join(', ')}: run \`npm run docs\` after changing an action.yml.`,
      );
      process.exitCode = 1;
    } else {
      console.log(
        check
          ? 'Action docs are up to date.'
          : stale.length > 0
            ? `Updated ${stale.join(', ')}.`
            : 'Action docs were up to date.',
      );
    }
  } catch (err) {
    console.error((err as Error).message);
    process.exitCode = 1;
  }
}
