import { parseArgs as parseArgv } from 'node:util';
import { ConfigurationError } from '../errors.ts';
import { didYouMean, nearestName } from '../suggest.ts';

/** The commands of the `gce-matrix` command line. */
export type CommandName = 'run' | 'status' | 'janitor' | 'rerun' | 'help' | 'version';

type OptionKind = 'flag' | 'value' | 'list';

interface OptionSpec {
  readonly kind: OptionKind;
  readonly help: string;
  /** Shown after the option name in the help. */
  readonly arg?: string;
  /** A one-letter alias: `o` for `-o`. */
  readonly short?: string;
}

const HELP_OPTION: OptionSpec = { kind: 'flag', short: 'h', help: 'show this help' };

const CLOUD_OPTIONS: Record<string, OptionSpec> = {
  project: { kind: 'value', arg: 'ID', help: 'Google Cloud project (default: GOOGLE_CLOUD_PROJECT)' },
  bucket: { kind: 'value', arg: 'NAME', help: 'results bucket (--cloud)' },
  prefix: { kind: 'value', arg: 'PATH', help: 'object prefix in the bucket (default gce-matrix)' },
};

const RUN_OPTIONS: Record<string, OptionSpec> = {
  parallel: {
    kind: 'value',
    short: 'p',
    arg: 'N',
    help: 'experiments at once (default: CPU count, at most 4)',
  },
  out: { kind: 'value', short: 'o', arg: 'DIR', help: 'where the run goes (default gce-matrix-results/RUN)' },
  set: { kind: 'list', arg: 'AXIS=V1,V2', help: 'run only these values of an axis (repeatable)' },
  'allow-new-values': {
    kind: 'flag',
    help: 'with --set: also run values the spec does not list (default: refuse them as typos)',
  },
  repetitions: { kind: 'value', arg: 'N', help: 'repetitions of each combination (overrides the spec)' },
  'run-id': { kind: 'value', arg: 'ID', help: 'run id (default: local-DATE-TIME)' },
  title: { kind: 'value', arg: 'TEXT', help: "report title (default the spec's title)" },
  pivot: { kind: 'value', arg: 'ROWS,COLUMNS', help: 'the two axes of the pivot tables' },
  metrics: {
    kind: 'value',
    arg: 'NAME:higher,...',
    help: "which way is better per metric (over the spec's metrics)",
  },
  baseline: {
    kind: 'value',
    arg: 'DIR',
    help: 'an earlier run directory: the report shows deltas against it',
  },
  test: {
    kind: 'value',
    arg: 'mann-whitney|welch|signed-rank',
    help: 'with --baseline: the test of each combination (default mann-whitney; signed-rank pairs by --replicate)',
  },
  adjust: { kind: 'value', arg: 'holm|bh', help: 'with --baseline: p-value adjustment (default holm)' },
  alpha: { kind: 'value', arg: 'P', help: 'with --baseline: significance level, 0 < P < 0.5 (default 0.05)' },
  replicate: {
    kind: 'value',
    arg: 'PARAM',
    help: 'with --baseline: the parameter whose values repeat a combination (default seed)',
  },
  'no-progress': { kind: 'flag', help: 'plain lines even on a terminal' },
  source: {
    kind: 'value',
    arg: 'worktree|head|none',
    help: "each experiment's working directory: the checkout with its uncommitted changes (default), its HEAD, or empty",
  },
  'source-dir': {
    kind: 'value',
    arg: 'DIR',
    help: 'the checkout to snapshot (default: the git checkout around the current directory)',
  },
  cloud: { kind: 'flag', help: 'run on Compute Engine with application default credentials' },
  detach: { kind: 'flag', help: 'with --cloud: create the VMs and exit; a watcher reports later' },
  zones: { kind: 'value', arg: 'Z1,Z2', help: 'zones to try (--cloud)' },
  region: { kind: 'value', arg: 'REGION', help: 'a region whose zones are tried (--cloud)' },
  'vm-service-account': { kind: 'value', arg: 'EMAIL', help: 'the service account the VMs run as (--cloud)' },
  input: {
    kind: 'list',
    arg: 'NAME=VALUE',
    help: 'any actions/launch input, e.g. machine-type=n2-standard-8',
  },
  ...CLOUD_OPTIONS,
};

/** The commands that take options of their own. */
type OptionCommand = Exclude<CommandName, 'help' | 'version'>;

const COMMANDS: Record<
  OptionCommand,
  { usage: string; summary: string; options: Record<string, OptionSpec> }
> = {
  run: {
    usage: 'gce-matrix run SPEC [options]',
    summary: 'plan the matrix in SPEC and run every experiment, then collect and report',
    options: { ...RUN_OPTIONS, help: HELP_OPTION },
  },
  status: {
    usage: 'gce-matrix status RUN [options]',
    summary: 'show where each experiment of a run is (RUN: a local run directory, or a run id with --cloud)',
    options: {
      out: { kind: 'value', short: 'o', arg: 'DIR', help: 'the runs directory (default gce-matrix-results)' },
      cloud: { kind: 'flag', help: 'read the run from the bucket' },
      report: {
        kind: 'flag',
        help: 'with --cloud: once every experiment has ended, collect and report the run here',
      },
      ...CLOUD_OPTIONS,
      help: HELP_OPTION,
    },
  },
  janitor: {
    usage: 'gce-matrix janitor [options]',
    summary: 'list leftover gce-matrix VMs (by label) and, with --delete, delete them',
    options: {
      project: CLOUD_OPTIONS.project,
      zones: { kind: 'value', arg: 'Z1,Z2', help: 'the zones to look in' },
      region: { kind: 'value', arg: 'R1,R2', help: 'or regions: every zone of them that is up' },
      repository: { kind: 'value', arg: 'OWNER/REPO', help: 'only VMs of this repository' },
      'run-id': { kind: 'list', arg: 'ID', help: 'runs known to have ended: their VMs go (repeatable)' },
      'max-age-hours': { kind: 'value', arg: 'H', help: 'VMs older than this go (default 24)' },
      delete: { kind: 'flag', help: 'delete what is listed (default: list only)' },
      help: HELP_OPTION,
    },
  },
  rerun: {
    usage: 'gce-matrix rerun EXPERIMENT [options]',
    summary: 'run one experiment of a local run again from its provenance record, then report the run again',
    options: {
      run: {
        kind: 'value',
        arg: 'DIR',
        help: 'the run directory (default: the newest under gce-matrix-results)',
      },
      'no-progress': { kind: 'flag', help: 'plain lines even on a terminal' },
      help: HELP_OPTION,
    },
  },
};

/** A parsed command line. */
export interface ParsedArgs {
  readonly command: CommandName;
  readonly positionals: readonly string[];
  /** Flags as `true`, values as strings, lists as arrays; absent options are absent. */
  readonly options: Readonly<Record<string, string | boolean | readonly string[]>>;
}

/** What `gce-matrix` takes before a command. */
const TOP_LEVEL_OPTIONS: Record<string, OptionSpec> = {
  help: { kind: 'flag', short: 'h', help: 'show the commands' },
  version: { kind: 'flag', short: 'V', help: 'print the version' },
};

const COMMAND_NAMES: readonly string[] = [...Object.keys(COMMANDS), 'help', 'version'];

type ParserOptions = Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }>;

/** An option table as `node:util` parseArgs takes it: the same table serves parsing and the help. */
function parserOptions(specs: Record<string, OptionSpec>): ParserOptions {
  return Object.fromEntries(
    Object.entries(specs).map(([name, o]) => [
      name,
      {
        type: o.kind === 'flag' ? 'boolean' : 'string',
        ...(o.kind === 'list' ? { multiple: true } : {}),
        ...(o.short ? { short: o.short } : {}),
      },
    ]),
  );
}

function isOptionCommand(name: string): name is OptionCommand {
  return Object.hasOwn(COMMANDS, name);
}

function unknownCommand(name: string): ConfigurationError {
  const hint = didYouMean(name, COMMAND_NAMES);
  return new ConfigurationError(
    `unknown command ${JSON.stringify(name)}; ${hint ?? `commands: ${COMMAND_NAMES.join(', ')}`} (gce-matrix --help)`,
  );
}

/** Which command line is parsed: `run` (`gce-matrix run`), or the top level before a command. */
interface Context {
  /** The command, or undefined before one. */
  readonly command: string | undefined;
  readonly specs: Record<string, OptionSpec>;
}

/** `run: ` or nothing at the top level. */
function prefix(ctx: Context): string {
  return ctx.command === undefined ? '' : `${ctx.command}: `;
}

function helpCommand(ctx: Context): string {
  return ctx.command === undefined ? 'gce-matrix --help' : `gce-matrix ${ctx.command} --help`;
}

/** An unknown `-x` or `--name`: the option meant, else the command it belongs to, else where the list is. */
function unknownOption(ctx: Context, raw: string): ConfigurationError {
  const long = raw.startsWith('--');
  const name = raw.replace(/^--?/, '');
  let hint: string | undefined;
  if (long) {
    hint = didYouMean(name, Object.keys(ctx.specs), (n) => `--${n}`);
    const owners = Object.entries(COMMANDS)
      .filter(([c, d]) => c !== ctx.command && Object.hasOwn(d.options, name))
      .map(([c]) => c);
    if (!hint && owners.length > 0) {
      hint =
        ctx.command === undefined
          ? `options go after the command: gce-matrix ${owners[0]} ... --${name}`
          : `--${name} is an option of ${owners.join(' and ')}`;
    }
  } else {
    const shorts = Object.values(ctx.specs).flatMap((o) => (o.short ? [o.short] : []));
    const near = nearestName(name, shorts, { maxDistance: 0 });
    if (near !== undefined) hint = `did you mean -${near}?`;
  }
  return new ConfigurationError(
    `${prefix(ctx)}unknown option ${raw}${hint ? `; ${hint}` : ''} (${helpCommand(ctx)} lists the options)`,
  );
}

type Tokens = NonNullable<ReturnType<typeof parseArgv>['tokens']>;

/** The first problem `node:util` parseArgs refused, said in the terms of the option table. */
function explain(ctx: Context, tokens: Tokens, err: unknown): ConfigurationError {
  for (const t of tokens) {
    if (t.kind !== 'option') continue;
    const spec = Object.hasOwn(ctx.specs, t.name) ? ctx.specs[t.name] : undefined;
    if (!spec) return unknownOption(ctx, t.rawName);
    if (spec.kind === 'flag') {
      if (t.value !== undefined) {
        return new ConfigurationError(`${prefix(ctx)}option --${t.name} takes no value; give it alone`);
      }
      continue;
    }
    const swallowed =
      t.value !== undefined && !t.inlineValue && t.value.length > 1 && t.value.startsWith('-');
    if (t.value === undefined || swallowed) {
      return new ConfigurationError(
        `${prefix(ctx)}option ${t.rawName} needs a value (--${t.name} ${spec.arg ?? 'VALUE'})` +
          (swallowed ? `; a value that starts with - goes as --${t.name}=VALUE` : ''),
      );
    }
  }
  return new ConfigurationError(
    `${prefix(ctx)}${(err as Error).message.split('\n')[0]} (${helpCommand(ctx)})`,
  );
}

/** A command line parsed against an option table. */
interface Parsed {
  /** `-h`/`--help` was among the options: nothing else was checked. */
  readonly help: boolean;
  readonly positionals: string[];
  readonly options: Record<string, string | boolean | string[]>;
}

/** Parses `args` strictly against the context's option table; `--help` anywhere among the options wins. */
function parseWith(ctx: Context, args: readonly string[]): Parsed {
  const options = parserOptions(ctx.specs);
  const loose = parseArgv({ args: [...args], options, strict: false, allowPositionals: true, tokens: true });
  if (loose.tokens.some((t) => t.kind === 'option' && t.name === 'help')) {
    return { help: true, positionals: loose.positionals, options: {} };
  }
  let parsed;
  try {
    parsed = parseArgv({ args: [...args], options, strict: true, allowPositionals: true, tokens: true });
  } catch (err) {
    throw explain(ctx, loose.tokens, err);
  }
  const seen = new Set<string>();
  for (const t of parsed.tokens) {
    if (t.kind !== 'option' || ctx.specs[t.name].kind !== 'value') continue;
    if (seen.has(t.name)) {
      throw new ConfigurationError(`${prefix(ctx)}option --${t.name} is given twice; give it once`);
    }
    seen.add(t.name);
  }
  const values: Record<string, string | boolean | string[]> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    if (value !== undefined) values[name] = Array.isArray(value) ? value.map(String) : value;
  }
  return { help: false, positionals: parsed.positionals, options: values };
}

/**
 * Parses `gce-matrix COMMAND [args]` with `node:util` parseArgs against the command's option table:
 * `--name value`, `--name=value`, `-x value` for options with a short alias, repeatable list options, `--`
 * ends the options. `-h`/`--help` shows the help of the command it follows; `-V`/`--version`/`version` asks
 * for the version. Every mistake is a ConfigurationError naming the fix (the option or command meant, when
 * one is near).
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const [first, ...rest] = argv;
  const help = (topic?: string): ParsedArgs => ({
    command: 'help',
    positionals: topic === undefined ? [] : [topic],
    options: {},
  });
  if (first === undefined) return help();
  if (first.startsWith('-') && first !== '-') {
    const top = parseWith({ command: undefined, specs: TOP_LEVEL_OPTIONS }, argv);
    if (!top.help && top.options.version === true)
      return { command: 'version', positionals: [], options: {} };
    const topic = top.positionals[0];
    if (topic !== undefined && !COMMAND_NAMES.includes(topic)) throw unknownCommand(topic);
    return help(topic);
  }
  if (first === 'help') {
    const topic = rest.find((a) => a !== '-h' && a !== '--help');
    if (topic !== undefined && !COMMAND_NAMES.includes(topic)) throw unknownCommand(topic);
    return help(topic);
  }
  if (first === 'version') {
    const parsed = parseWith({ command: 'version', specs: { help: HELP_OPTION } }, rest);
    if (parsed.help) return help();
    if (parsed.positionals.length > 0) {
      throw new ConfigurationError(
        `version takes no arguments (got ${JSON.stringify(parsed.positionals[0])}); run gce-matrix version`,
      );
    }
    return { command: 'version', positionals: [], options: {} };
  }
  if (!isOptionCommand(first)) throw unknownCommand(first);
  const parsed = parseWith({ command: first, specs: COMMANDS[first].options }, rest);
  if (parsed.help) return help(first);
  return { command: first, positionals: parsed.positionals, options: parsed.options };
}

/** The value of a single-valued option, if given. */
export function optionValue(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' ? v : undefined;
}

/** The report options of `run`, as given (checked later against the spec by renderOptions). */
export function reportOptionsOf(args: ParsedArgs) {
  return {
    title: optionValue(args, 'title'),
    pivot: optionValue(args, 'pivot'),
    metrics: optionValue(args, 'metrics'),
    test: optionValue(args, 'test'),
    adjust: optionValue(args, 'adjust'),
    alpha: optionValue(args, 'alpha'),
    replicate: optionValue(args, 'replicate'),
  };
}

/** The values of a repeatable option (empty when absent). */
export function optionList(args: ParsedArgs, name: string): readonly string[] {
  const v = args.options[name];
  return Array.isArray(v) ? (v as readonly string[]) : [];
}

/** Whether a flag was given. */
export function optionFlag(args: ParsedArgs, name: string): boolean {
  return args.options[name] === true;
}

/** A whole number option within bounds, or the fallback when absent. */
export function optionInteger(
  args: ParsedArgs,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = optionValue(args, name);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigurationError(
      `option --${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`,
    );
  }
  return n;
}

/** Help rows of an option table: `-o, --out DIR` (or aligned `    --set AXIS=V1,V2`) and what it does. */
function optionRows(specs: Record<string, OptionSpec>): string[] {
  const rows = Object.entries(specs).map(([name, o]) => [
    `${o.short ? `-${o.short}, ` : '    '}--${name}${o.arg ? ` ${o.arg}` : ''}`,
    o.help,
  ]);
  const width = Math.max(...rows.map(([l]) => l.length));
  return rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`);
}

/** The help text: every command, or one command's options (`help` and `version`: every command). */
export function helpText(command?: string): string {
  if (command !== undefined && isOptionCommand(command)) {
    const c = COMMANDS[command];
    return [`usage: ${c.usage}`, '', c.summary, '', ...optionRows(c.options), ''].join('\n');
  }
  const commands: [string, string][] = [
    ...Object.values(COMMANDS).map((c): [string, string] => [c.usage, c.summary]),
    ['gce-matrix help [COMMAND]', 'this help, or the options of COMMAND (as COMMAND --help)'],
    ['gce-matrix version', 'print the version (as --version, -V)'],
  ];
  const width = Math.max(...commands.map(([u]) => u.length));
  return [
    'gce-matrix: run an experiment matrix, on this machine or on Compute Engine, and report the results.',
    '',
    ...commands.map(([u, h]) => `  ${u.padEnd(width)}  ${h}`),
    '',
    'gce-matrix COMMAND --help (or -h) shows its options. The spec format is in docs/matrix.md.',
    'A mistake on the command line exits 2 with what to fix; a run with a failed experiment exits 1.',
    '',
  ].join('\n');
}
