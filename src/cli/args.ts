import { ConfigurationError } from '../errors.ts';

/** The commands of the `gce-matrix` command line. */
export type CommandName = 'run' | 'status' | 'janitor' | 'rerun' | 'help';

type OptionKind = 'flag' | 'value' | 'list';

interface OptionSpec {
  readonly kind: OptionKind;
  readonly help: string;
  /** Shown after the option name in the help. */
  readonly arg?: string;
}

const CLOUD_OPTIONS: Record<string, OptionSpec> = {
  project: { kind: 'value', arg: 'ID', help: 'Google Cloud project (default: GOOGLE_CLOUD_PROJECT)' },
  bucket: { kind: 'value', arg: 'NAME', help: 'results bucket (--cloud)' },
  prefix: { kind: 'value', arg: 'PATH', help: 'object prefix in the bucket (default gce-matrix)' },
};

const RUN_OPTIONS: Record<string, OptionSpec> = {
  parallel: { kind: 'value', arg: 'N', help: 'experiments at once (default: CPU count, at most 4)' },
  out: { kind: 'value', arg: 'DIR', help: 'where the run goes (default gce-matrix-results/RUN)' },
  set: { kind: 'list', arg: 'AXIS=V1,V2', help: 'run only these values of an axis (repeatable)' },
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

const COMMANDS: Record<
  Exclude<CommandName, 'help'>,
  { usage: string; summary: string; options: Record<string, OptionSpec> }
> = {
  run: {
    usage: 'gce-matrix run SPEC [options]',
    summary: 'plan the matrix in SPEC and run every experiment, then collect and report',
    options: RUN_OPTIONS,
  },
  status: {
    usage: 'gce-matrix status RUN [options]',
    summary: 'show where each experiment of a run is (RUN: a local run directory, or a run id with --cloud)',
    options: {
      out: { kind: 'value', arg: 'DIR', help: 'the runs directory (default gce-matrix-results)' },
      cloud: { kind: 'flag', help: 'read the run from the bucket' },
      report: {
        kind: 'flag',
        help: 'with --cloud: once every experiment has ended, collect and report the run here',
      },
      ...CLOUD_OPTIONS,
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

/**
 * Parses `gce-matrix COMMAND [args]`: `--name value`, `--name=value`, repeatable list options, `--` ends the
 * options. Every unknown command or option is a ConfigurationError that says what is accepted.
 */
export function parseArgs(argv: readonly string[]): ParsedArgs {
  const [first, ...rest] = argv;
  if (first === undefined || first === 'help' || first === '--help' || first === '-h') {
    return { command: 'help', positionals: first === 'help' ? rest : [], options: {} };
  }
  if (!Object.hasOwn(COMMANDS, first)) {
    throw new ConfigurationError(
      `unknown command ${JSON.stringify(first)}; commands: ${Object.keys(COMMANDS).join(', ')} (gce-matrix help)`,
    );
  }
  const command = first as Exclude<CommandName, 'help'>;
  const specs = COMMANDS[command].options;
  const positionals: string[] = [];
  const options: Record<string, string | boolean | string[]> = {};
  let onlyPositionals = false;
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (onlyPositionals || !arg.startsWith('--') || arg === '-') {
      if (!onlyPositionals && arg.startsWith('-') && arg !== '-') {
        throw new ConfigurationError(
          `${command}: option ${arg} is not known; options start with -- (gce-matrix help ${command})`,
        );
      }
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      onlyPositionals = true;
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq < 0 ? undefined : eq);
    if (name === 'help') return { command: 'help', positionals: [command], options: {} };
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined;
    if (!spec) {
      throw new ConfigurationError(
        `${command}: unknown option --${name}; it takes ${Object.keys(specs)
          .map((o) => `--${o}`)
          .join(', ')}`,
      );
    }
    if (spec.kind === 'flag') {
      if (eq >= 0) throw new ConfigurationError(`${command}: option --${name} takes no value`);
      options[name] = true;
      continue;
    }
    let value: string;
    if (eq >= 0) value = arg.slice(eq + 1);
    else {
      const next = rest[i + 1];
      if (next === undefined || next.startsWith('--')) {
        throw new ConfigurationError(
          `${command}: option --${name} needs a value (--${name} ${spec.arg ?? 'VALUE'})`,
        );
      }
      value = next;
      i++;
    }
    if (spec.kind === 'list') {
      const list = (options[name] as string[] | undefined) ?? [];
      list.push(value);
      options[name] = list;
    } else {
      if (Object.hasOwn(options, name))
        throw new ConfigurationError(`${command}: option --${name} is given twice`);
      options[name] = value;
    }
  }
  return { command, positionals, options };
}

/** The value of a single-valued option, if given. */
export function optionValue(args: ParsedArgs, name: string): string | undefined {
  const v = args.options[name];
  return typeof v === 'string' ? v : undefined;
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

/** The help text: every command, or one command's options. */
export function helpText(command?: string): string {
  if (command && Object.hasOwn(COMMANDS, command)) {
    const c = COMMANDS[command as Exclude<CommandName, 'help'>];
    const rows = Object.entries(c.options).map(([name, o]) => [
      `--${name}${o.arg ? ` ${o.arg}` : ''}`,
      o.help,
    ]);
    const width = Math.max(...rows.map(([l]) => l.length));
    return [
      `usage: ${c.usage}`,
      '',
      c.summary,
      '',
      ...rows.map(([l, h]) => `  ${l.padEnd(width)}  ${h}`),
      '',
    ].join('\n');
  }
  const width = Math.max(...Object.values(COMMANDS).map((c) => c.usage.length));
  return [
    'gce-matrix: run an experiment matrix, on this machine or on Compute Engine, and report the results.',
    '',
    ...Object.values(COMMANDS).map((c) => `  ${c.usage.padEnd(width)}  ${c.summary}`),
    '',
    'gce-matrix help COMMAND shows its options. The spec format is in docs/matrix.md.',
    '',
  ].join('\n');
}
