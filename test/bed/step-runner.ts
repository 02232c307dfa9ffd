/**
 * Runs a bundled JavaScript action the way the GitHub Actions runner does: action.yml inputs and defaults as
 * `INPUT_*` variables (upper-cased, spaces to `_`, hyphens kept), fresh file-command files per phase
 * (GITHUB_OUTPUT, GITHUB_STATE, GITHUB_ENV, GITHUB_PATH, GITHUB_STEP_SUMMARY), the event file, workflow
 * commands on stdout and stderr with secret masking, pre/main/post with their `*-if` conditions, state
 * handed to post as `STATE_*`, and cancellation as SIGINT, then SIGTERM after 7.5 s, then a kill after 2.5 s.
 */
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { WorkflowEvent } from './events.ts';

/** The run the step belongs to; every field has a default. */
export interface RunContext {
  repository: string;
  runId: string;
  runAttempt: string;
  runNumber: string;
  sha: string;
  ref: string;
  /** The job's GITHUB_TOKEN (`github.token`); registered as a secret. */
  token: string;
  actor: string;
  serverUrl: string;
  apiUrl: string;
  graphqlUrl: string;
  workflow: string;
  job: string;
  headRef: string;
  baseRef: string;
}

/** How to run one step. */
export interface StepOptions {
  /** Directory holding action.yml (or action.yaml); `runs.*` paths are relative to it. */
  actionDir: string;
  /** The step's `with:`; keys are matched to declared inputs case-insensitively. */
  inputs?: Record<string, string>;
  event?: WorkflowEvent;
  context?: Partial<RunContext>;
  /** Extra environment (endpoint variables, ACTIONS_*); applied after the runner's own variables. */
  env?: Record<string, string>;
  /** Also pass this process's environment (default: only PATH, HOME, LANG, TZ are passed). */
  inheritEnv?: boolean;
  /** GITHUB_WORKSPACE and the working directory; default a fresh temp dir. */
  workspace?: string;
  /** RUNNER_TEMP; default a fresh temp dir. */
  runnerTemp?: string;
  /** GITHUB_ACTION; default `__probe`. */
  stepId?: string;
  /**
   * Status of the job before this step, for `success()`/`failure()` in `pre-if`/`post-if`; `failure`
   * skips main (a step's default `if:` is `success()`), and with it post.
   */
  jobStatus?: 'success' | 'failure';
  /** Run `runs.pre` if present (default true) / `runs.post` if present (default true). */
  runPre?: boolean;
  runPost?: boolean;
  /** Aborting it cancels the job (as the Cancel button does). */
  signal?: AbortSignal;
  /** Cancels the job this many ms after the main entry started. */
  cancelAfterMs?: number;
  /** Step timeout (`timeout-minutes`), ms, for the main entry: same signal sequence, step fails. */
  timeoutMs?: number;
  /** Delay between SIGINT and SIGTERM (runner: 7500 ms) and between SIGTERM and the kill (runner: 2500 ms). */
  sigintGraceMs?: number;
  sigtermGraceMs?: number;
  /** Values masked from the start (the runner masks the job's secrets). */
  secrets?: string[];
  /** ACTIONS_STEP_DEBUG: show `::debug::` lines in the log. */
  stepDebug?: boolean;
  /** `::set-output`/`::save-state` on stdout: the runner still applies them with a deprecation warning. */
  legacyCommands?: 'apply' | 'ignore';
  /** Called with every (masked) log line as it is produced. */
  onLine?: (line: string, phase: Phase) => void;
}

export type Phase = 'pre' | 'main' | 'post';

/** An annotation from `::error::`, `::warning::` or `::notice::` (or one the runner itself adds). */
export interface Annotation {
  level: 'error' | 'warning' | 'notice';
  message: string;
  title?: string;
  file?: string;
  line?: number;
  endLine?: number;
  col?: number;
  endColumn?: number;
  phase: Phase;
}

/** What one entry point (pre, main or post) did. */
export interface PhaseResult {
  phase: Phase;
  conclusion: 'success' | 'failure' | 'cancelled' | 'skipped';
  exitCode: number | null;
  /** The signal that ended the process, if one did. */
  exitSignal: NodeJS.Signals | null;
  /** Signals sent to the process, with ms since it started. */
  signalsSent: { signal: NodeJS.Signals; atMs: number }[];
  timedOut: boolean;
  outputs: Record<string, string>;
  state: Record<string, string>;
  /** The step summary as written (masked), or undefined when empty or over 1 MiB. */
  summary: string | undefined;
  /** Variables written to GITHUB_ENV. */
  env: Record<string, string>;
  /** Directories written to GITHUB_PATH. */
  path: string[];
  /** The job log lines of this phase, masked, with commands rendered as the runner renders them. */
  log: string[];
  annotations: Annotation[];
  /** Environment the process got (for assertions on INPUT_* and friends). */
  processEnv: Record<string, string>;
  durationMs: number;
}

/** The result of a step: its main phase, plus pre and post. */
export interface StepResult extends PhaseResult {
  pre: PhaseResult | undefined;
  post: PhaseResult | undefined;
  /** Every value registered for masking (secrets given, github.token, `::add-mask::`). */
  masks: string[];
  /** All phases' log lines in order. */
  jobLog: string[];
  /** Annotations of all phases. */
  allAnnotations: Annotation[];
  /** Whether the job was cancelled during the step. */
  cancelled: boolean;
}

/** A running step. */
export interface StepRun {
  readonly result: Promise<StepResult>;
  /** Cancels the job, as the Cancel button does. */
  cancel(): void;
}

interface ActionYaml {
  name?: string;
  inputs?: Record<string, { default?: unknown; required?: boolean; description?: string } | null>;
  runs: { using: string; main: string; pre?: string; post?: string; 'pre-if'?: string; 'post-if'?: string };
}

const SUMMARY_LIMIT = 1024 * 1024;

/** Runs a step to completion (main, then post); see {@link startStep} for cancelling it mid-way. */
export function runStep(opts: StepOptions): Promise<StepResult> {
  return startStep(opts).result;
}

/** Starts a step; `cancel()` cancels the job while it runs. */
export function startStep(opts: StepOptions): StepRun {
  const ctl = new StepController(opts);
  return { result: ctl.run(), cancel: () => ctl.cancel() };
}

class StepController {
  private readonly opts: StepOptions;
  private readonly masks = new Set<string>();
  private cancelled = false;
  private onCancel: (() => void) | undefined;
  private readonly jobLog: string[] = [];

  constructor(opts: StepOptions) {
    this.opts = opts;
    for (const s of opts.secrets ?? []) this.addMask(s);
    opts.signal?.addEventListener('abort', () => this.cancel(), { once: true });
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.onCancel?.();
  }

  async run(): Promise<StepResult> {
    const o = this.opts;
    const action = await readAction(o.actionDir);
    if (action.runs.using !== 'node24') {
      throw new Error(`action.yml runs.using is ${action.runs.using}; this project's actions use node24`);
    }
    const cleanup: string[] = [];
    const runnerTemp = o.runnerTemp ?? (await tempDir('runner-temp-', cleanup));
    const workspace = o.workspace ?? (await tempDir('workspace-', cleanup));
    try {
      const ctx = defaultContext(o.context, o.event);
      if (ctx.token) this.addMask(ctx.token);
      const eventDir = path.join(runnerTemp, '_github_workflow');
      await mkdir(eventDir, { recursive: true });
      const eventPath = path.join(eventDir, 'event.json');
      await writeFile(eventPath, JSON.stringify(o.event?.payload ?? {}, null, 2));
      const baseEnv = this.baseEnv(ctx, runnerTemp, workspace, eventPath);
      const exprCtx = {
        github: githubContext(ctx, o.event, workspace, o.stepId ?? '__probe'),
        runner: { temp: runnerTemp, os: 'Linux', arch: 'X64', name: 'bed-runner', tool_cache: runnerTemp },
        env: { ...baseEnv },
      };
      const { inputEnv, warnings } = inputsEnv(action, o.inputs ?? {}, exprCtx);
      let env = { ...baseEnv, ...inputEnv };
      const status = { job: o.jobStatus ?? 'success' };
      const cond = (expr: string | undefined): boolean =>
        evaluateCondition(expr ?? 'always()', this.cancelled ? 'cancelled' : status.job);

      let pre: PhaseResult | undefined;
      if (action.runs.pre && o.runPre !== false && cond(action.runs['pre-if'])) {
        pre = await this.phase(
          'pre',
          path.resolve(o.actionDir, action.runs.pre),
          env,
          {},
          runnerTemp,
          workspace,
        );
        env = applyEnvChanges(env, pre);
        if (pre.conclusion !== 'success') status.job = 'failure';
      }
      let main: PhaseResult;
      if (!this.cancelled && status.job === 'success') {
        main = await this.phase(
          'main',
          path.resolve(o.actionDir, action.runs.main),
          env,
          { ...pre?.state },
          runnerTemp,
          workspace,
          warnings,
        );
        env = applyEnvChanges(env, main);
        if (main.conclusion === 'failure') status.job = 'failure';
      } else {
        main = skipped('main', env);
      }
      let post: PhaseResult | undefined;
      if (
        action.runs.post &&
        o.runPost !== false &&
        main.conclusion !== 'skipped' &&
        cond(action.runs['post-if'])
      ) {
        post = await this.phase(
          'post',
          path.resolve(o.actionDir, action.runs.post),
          env,
          { ...pre?.state, ...main.state },
          runnerTemp,
          workspace,
        );
      }
      return {
        ...main,
        pre,
        post,
        masks: [...this.masks],
        jobLog: this.jobLog,
        allAnnotations: [...(pre?.annotations ?? []), ...main.annotations, ...(post?.annotations ?? [])],
        cancelled: this.cancelled,
      };
    } finally {
      for (const d of cleanup) await rm(d, { recursive: true, force: true });
    }
  }

  private baseEnv(
    ctx: RunContext,
    runnerTemp: string,
    workspace: string,
    eventPath: string,
  ): Record<string, string> {
    const o = this.opts;
    const inherited: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) {
      if (v !== undefined && (o.inheritEnv || ['PATH', 'HOME', 'LANG', 'TZ'].includes(k))) inherited[k] = v;
    }
    const [owner] = ctx.repository.split('/');
    const refName = ctx.ref.replace(/^refs\/(heads|tags|pull)\//, '');
    return {
      ...inherited,
      CI: 'true',
      GITHUB_ACTIONS: 'true',
      GITHUB_ACTION: o.stepId ?? '__probe',
      GITHUB_ACTION_PATH: path.resolve(o.actionDir),
      GITHUB_ACTOR: ctx.actor,
      GITHUB_TRIGGERING_ACTOR: ctx.actor,
      GITHUB_API_URL: ctx.apiUrl,
      GITHUB_GRAPHQL_URL: ctx.graphqlUrl,
      GITHUB_SERVER_URL: ctx.serverUrl,
      GITHUB_EVENT_NAME: o.event?.name ?? 'workflow_dispatch',
      GITHUB_EVENT_PATH: eventPath,
      GITHUB_JOB: ctx.job,
      GITHUB_REF: ctx.ref,
      GITHUB_REF_NAME: refName,
      GITHUB_REF_TYPE: ctx.ref.startsWith('refs/tags/') ? 'tag' : 'branch',
      GITHUB_HEAD_REF: ctx.headRef,
      GITHUB_BASE_REF: ctx.baseRef,
      GITHUB_REPOSITORY: ctx.repository,
      GITHUB_REPOSITORY_OWNER: owner ?? '',
      GITHUB_RETENTION_DAYS: '90',
      GITHUB_RUN_ID: ctx.runId,
      GITHUB_RUN_ATTEMPT: ctx.runAttempt,
      GITHUB_RUN_NUMBER: ctx.runNumber,
      GITHUB_SHA: ctx.sha,
      GITHUB_WORKFLOW: ctx.workflow,
      GITHUB_WORKFLOW_REF: `${ctx.repository}/.github/workflows/${ctx.workflow}.yml@${ctx.ref}`,
      GITHUB_WORKSPACE: workspace,
      RUNNER_ARCH: 'X64',
      RUNNER_OS: 'Linux',
      RUNNER_NAME: 'bed-runner',
      RUNNER_ENVIRONMENT: 'github-hosted',
      RUNNER_TEMP: runnerTemp,
      RUNNER_TOOL_CACHE: path.join(runnerTemp, '_tool'),
      ...(o.stepDebug ? { RUNNER_DEBUG: '1' } : {}),
      ...(o.env ?? {}),
    };
  }

  private async phase(
    phase: Phase,
    entry: string,
    env: Record<string, string>,
    state: Record<string, string>,
    runnerTemp: string,
    workspace: string,
    startWarnings: string[] = [],
  ): Promise<PhaseResult> {
    const o = this.opts;
    const dir = path.join(runnerTemp, '_runner_file_commands');
    await mkdir(dir, { recursive: true });
    const id = randomUUID();
    const files = {
      GITHUB_OUTPUT: path.join(dir, `set_output_${id}`),
      GITHUB_STATE: path.join(dir, `save_state_${id}`),
      GITHUB_ENV: path.join(dir, `set_env_${id}`),
      GITHUB_PATH: path.join(dir, `add_path_${id}`),
      GITHUB_STEP_SUMMARY: path.join(dir, `step_summary_${id}`),
    };
    for (const f of Object.values(files)) await writeFile(f, '');
    const stateEnv = Object.fromEntries(Object.entries(state).map(([k, v]) => [`STATE_${k}`, v]));
    const processEnv = { ...env, ...stateEnv, ...files };

    const result: PhaseResult = {
      phase,
      conclusion: 'success',
      exitCode: null,
      exitSignal: null,
      signalsSent: [],
      timedOut: false,
      outputs: {},
      state: {},
      summary: undefined,
      env: {},
      path: [],
      log: [],
      annotations: [],
      processEnv,
      durationMs: 0,
    };
    const parser = new CommandProcessor(this, result, o.stepDebug ?? false, o.legacyCommands ?? 'apply');
    for (const w of startWarnings) parser.annotate('warning', w);

    const started = Date.now();
    const child = spawn(process.execPath, [entry], {
      cwd: workspace,
      env: processEnv,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    const timers: NodeJS.Timeout[] = [];
    let stopping = false;
    const stop = (why: 'cancel' | 'timeout'): void => {
      if (stopping || child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      if (why === 'timeout') result.timedOut = true;
      const send = (sig: NodeJS.Signals, group: boolean): void => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        result.signalsSent.push({ signal: sig, atMs: Date.now() - started });
        try {
          if (group && child.pid) process.kill(-child.pid, sig);
          else child.kill(sig);
        } catch {
          // already gone
        }
      };
      send('SIGINT', false);
      const intGrace = o.sigintGraceMs ?? 7500;
      const termGrace = o.sigtermGraceMs ?? 2500;
      timers.push(setTimeout(() => send('SIGTERM', false), intGrace));
      timers.push(setTimeout(() => send('SIGKILL', true), intGrace + termGrace));
    };
    if (phase !== 'post') {
      if (this.cancelled) stop('cancel');
      this.onCancel = () => stop('cancel');
      if (phase === 'main' && o.cancelAfterMs !== undefined) {
        timers.push(setTimeout(() => this.cancel(), o.cancelAfterMs));
      }
      if (phase === 'main' && o.timeoutMs !== undefined) {
        timers.push(setTimeout(() => stop('timeout'), o.timeoutMs));
      }
    }
    const streams = [child.stdout, child.stderr].map(
      (s) =>
        new Promise<void>((resolve) => {
          let buf = '';
          s.setEncoding('utf8');
          s.on('data', (chunk: string) => {
            buf += chunk;
            let nl: number;
            while ((nl = buf.indexOf('\n')) >= 0) {
              parser.line(buf.slice(0, nl).replace(/\r$/, ''));
              buf = buf.slice(nl + 1);
            }
          });
          s.on('end', () => {
            if (buf) parser.line(buf.replace(/\r$/, ''));
            resolve();
          });
          s.on('error', () => resolve());
        }),
    );
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (c, s) => resolve([c, s]));
    });
    // Descendants may hold the pipes open; give the output a moment to drain, then end the process group.
    await Promise.race([Promise.all(streams), new Promise((r) => setTimeout(r, 500))]);
    try {
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    } catch {
      // the group is already empty
    }
    for (const t of timers) clearTimeout(t);
    this.onCancel = undefined;
    result.durationMs = Date.now() - started;
    result.exitCode = code;
    result.exitSignal = signal;

    const outputs = parseFileCommand(await readFile(files.GITHUB_OUTPUT, 'utf8'), 'GITHUB_OUTPUT');
    const saved = parseFileCommand(await readFile(files.GITHUB_STATE, 'utf8'), 'GITHUB_STATE');
    const envFile = parseFileCommand(await readFile(files.GITHUB_ENV, 'utf8'), 'GITHUB_ENV');
    Object.assign(result.outputs, outputs);
    Object.assign(result.state, saved);
    Object.assign(result.env, envFile);
    result.path.push(
      ...(await readFile(files.GITHUB_PATH, 'utf8'))
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean),
    );
    const size = (await stat(files.GITHUB_STEP_SUMMARY)).size;
    if (size > SUMMARY_LIMIT) {
      parser.annotate(
        'error',
        `$GITHUB_STEP_SUMMARY upload aborted, supports content up to a size of ${SUMMARY_LIMIT / 1024}k, got ${Math.ceil(size / 1024)}k.`,
      );
    } else if (size > 0) {
      result.summary = this.mask(await readFile(files.GITHUB_STEP_SUMMARY, 'utf8'));
    }
    if (this.cancelled && phase !== 'post' && stopping) result.conclusion = 'cancelled';
    else if (code !== 0) result.conclusion = 'failure';
    if (result.timedOut) {
      result.conclusion = 'failure';
      parser.annotate('error', `The action has timed out.`);
    }
    return result;
  }

  addMask(value: string): void {
    if (!value) return;
    this.masks.add(value);
  }

  mask(text: string): string {
    const variants = new Set<string>();
    for (const m of this.masks) {
      variants.add(m);
      // The runner also masks the common encodings of a secret.
      variants.add(JSON.stringify(m).slice(1, -1));
      variants.add(encodeURIComponent(m));
      variants.add(Buffer.from(m).toString('base64'));
      for (const part of m.split(/\r?\n/)) if (part.trim()) variants.add(part);
    }
    const sorted = [...variants].filter((v) => v.length > 0).sort((a, b) => b.length - a.length);
    let out = text;
    for (const v of sorted) out = out.split(v).join('***');
    return out;
  }

  emit(line: string, result: PhaseResult): void {
    const masked = this.mask(line);
    result.log.push(masked);
    this.jobLog.push(masked);
    this.opts.onLine?.(masked, result.phase);
  }
}

/** Interprets workflow commands in a phase's output, as the runner's command manager does. */
class CommandProcessor {
  private readonly ctl: StepController;
  private readonly result: PhaseResult;
  private readonly debug: boolean;
  private readonly legacy: 'apply' | 'ignore';
  private stopToken: string | undefined;

  constructor(ctl: StepController, result: PhaseResult, debug: boolean, legacy: 'apply' | 'ignore') {
    this.ctl = ctl;
    this.result = result;
    this.debug = debug;
    this.legacy = legacy;
  }

  annotate(level: Annotation['level'], message: string, props: Record<string, string> = {}): void {
    const num = (k: string): number | undefined => (props[k] !== undefined ? Number(props[k]) : undefined);
    const a: Annotation = { level, message: this.ctl.mask(message), phase: this.result.phase };
    if (props.title !== undefined) a.title = this.ctl.mask(props.title);
    if (props.file !== undefined) a.file = props.file;
    if (num('line') !== undefined) a.line = num('line');
    if (num('endLine') !== undefined) a.endLine = num('endLine');
    if (num('col') !== undefined) a.col = num('col');
    if (num('endColumn') !== undefined) a.endColumn = num('endColumn');
    this.result.annotations.push(a);
    this.ctl.emit(`##[${level}]${a.title ? `${a.title}: ` : ''}${message}`, this.result);
  }

  line(raw: string): void {
    const trimmed = raw.trimStart();
    if (this.stopToken !== undefined) {
      if (trimmed === `::${this.stopToken}::`) this.stopToken = undefined;
      else this.ctl.emit(raw, this.result);
      return;
    }
    const cmd = parseCommand(trimmed);
    if (!cmd) {
      this.ctl.emit(raw, this.result);
      return;
    }
    const { name, props, data } = cmd;
    switch (name) {
      case 'add-mask':
        if (data.trim()) this.ctl.addMask(data);
        else this.annotate('warning', "Can't add secret mask for empty string in ##[add-mask] command.");
        return;
      case 'error':
      case 'warning':
      case 'notice':
        this.annotate(name, data, props);
        return;
      case 'debug':
        if (this.debug) this.ctl.emit(`##[debug]${data}`, this.result);
        return;
      case 'group':
        this.ctl.emit(`##[group]${data}`, this.result);
        return;
      case 'endgroup':
        this.ctl.emit('##[endgroup]', this.result);
        return;
      case 'stop-commands':
        if (!data) {
          this.annotate('error', 'Invalid stop-commands: a token is required.');
          return;
        }
        this.stopToken = data;
        return;
      case 'echo':
        return;
      case 'set-output':
      case 'save-state': {
        const which = name === 'set-output' ? 'set-output' : 'save-state';
        this.annotate(
          'warning',
          `The \`${which}\` command is deprecated and will be disabled soon. Please upgrade to using Environment Files. For more information see: https://github.blog/changelog/2022-10-11-github-actions-deprecating-save-state-and-set-output-commands/`,
        );
        if (this.legacy === 'apply' && props.name) {
          (name === 'set-output' ? this.result.outputs : this.result.state)[props.name] = data;
        }
        return;
      }
      case 'set-env':
      case 'add-path':
        this.annotate('error', `Unable to process command '${raw}' successfully.`);
        this.annotate(
          'error',
          `The \`${name}\` command is disabled. Please upgrade to using Environment Files or opt into unsecure command execution by setting the \`ACTIONS_ALLOW_UNSECURE_COMMANDS\` environment variable to \`true\`. For more information see: https://github.blog/changelog/2020-10-01-github-actions-deprecating-set-env-and-add-path-commands/`,
        );
        return;
      default:
        this.ctl.emit(raw, this.result);
    }
  }
}

/** Parses `::name key=value,key=value::data`; undefined when the line is not a command. */
export function parseCommand(
  line: string,
): { name: string; props: Record<string, string>; data: string } | undefined {
  if (!line.startsWith('::')) return undefined;
  const end = line.indexOf('::', 2);
  if (end < 0) return undefined;
  const head = line.slice(2, end);
  const sp = head.indexOf(' ');
  const name = (sp < 0 ? head : head.slice(0, sp)).trim();
  if (!name) return undefined;
  const props: Record<string, string> = {};
  if (sp >= 0) {
    for (const pair of head.slice(sp + 1).split(',')) {
      const eq = pair.indexOf('=');
      if (eq <= 0) continue;
      props[pair.slice(0, eq).trim()] = unescapeProperty(pair.slice(eq + 1));
    }
  }
  return { name, props, data: unescapeData(line.slice(end + 2)) };
}

function unescapeData(s: string): string {
  return s.replace(/%0D/gi, '\r').replace(/%0A/gi, '\n').replace(/%25/g, '%');
}

function unescapeProperty(s: string): string {
  return s
    .replace(/%0D/gi, '\r')
    .replace(/%0A/gi, '\n')
    .replace(/%3A/gi, ':')
    .replace(/%2C/gi, ',')
    .replace(/%25/g, '%');
}

/** Parses a file-command file: `name=value` lines and `name<<DELIMITER` heredocs, as the runner does. */
export function parseFileCommand(text: string, fileName = 'file command'): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split('\n').map((l) => l.replace(/\r$/, ''));
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    if (line === '') continue;
    const eq = line.indexOf('=');
    const hd = line.indexOf('<<');
    if (eq >= 0 && (hd < 0 || eq < hd)) {
      const name = line.slice(0, eq);
      if (!name) throw new Error(`Invalid format '${line}' in ${fileName}: name must not be empty`);
      out[name] = line.slice(eq + 1);
    } else if (hd >= 0) {
      const name = line.slice(0, hd);
      const delimiter = line.slice(hd + 2);
      if (!name || !delimiter) throw new Error(`Invalid format '${line}' in ${fileName}`);
      const value: string[] = [];
      let closed = false;
      for (i++; i < lines.length; i++) {
        if (lines[i] === delimiter) {
          closed = true;
          break;
        }
        value.push(lines[i]);
      }
      if (!closed)
        throw new Error(`Invalid value. Matching delimiter not found '${delimiter}' in ${fileName}`);
      out[name] = value.join('\n');
    } else {
      throw new Error(`Invalid format '${line}' in ${fileName}`);
    }
  }
  return out;
}

/**
 * Evaluates a `pre-if`/`post-if`/`if` condition made of `success()`, `failure()`, `cancelled()`,
 * `always()`, `true`, `false`, `!`, `&&`, `||` and parentheses. Without a status function the runner
 * implies `success() && (...)`.
 */
export function evaluateCondition(expr: string, status: 'success' | 'failure' | 'cancelled'): boolean {
  let src = expr.trim();
  const wrapped = /^\$\{\{([\s\S]*)\}\}$/.exec(src);
  if (wrapped) src = wrapped[1].trim();
  if (!/\b(success|failure|cancelled|always)\s*\(/.test(src)) src = `success() && (${src})`;
  const tokens = src.match(/\s*(\(\)|&&|\|\||!|\(|\)|[A-Za-z_]+)\s*/g)?.map((t) => t.trim()) ?? [];
  if (tokens.join('') !== src.replace(/\s+/g, '')) throw new Error(`unsupported condition: ${expr}`);
  let i = 0;
  const peek = (): string | undefined => tokens[i];
  const or = (): boolean => {
    let v = and();
    while (peek() === '||') {
      i++;
      const r = and();
      v = v || r;
    }
    return v;
  };
  const and = (): boolean => {
    let v = unary();
    while (peek() === '&&') {
      i++;
      const r = unary();
      v = v && r;
    }
    return v;
  };
  const unary = (): boolean => {
    if (peek() === '!') {
      i++;
      return !unary();
    }
    const t = tokens[i++];
    if (t === '(') {
      const v = or();
      if (tokens[i++] !== ')') throw new Error(`unbalanced parentheses in ${expr}`);
      return v;
    }
    if (t === 'true' || t === 'false') return t === 'true';
    if (tokens[i] !== '()') throw new Error(`unsupported condition: ${expr}`);
    i++;
    switch (t) {
      case 'always':
        return true;
      case 'success':
        return status === 'success';
      case 'failure':
        return status === 'failure';
      case 'cancelled':
        return status === 'cancelled';
      default:
        throw new Error(`unsupported function ${t}() in ${expr}`);
    }
  };
  const v = or();
  if (i !== tokens.length) throw new Error(`unsupported condition: ${expr}`);
  return v;
}

/** Replaces `${{ a.b.c }}` in `text` by lookups in `ctx` (missing values become ''). */
export function resolveExpressions(text: string, ctx: Record<string, unknown>): string {
  return text.replace(/\$\{\{\s*([\s\S]*?)\s*\}\}/g, (_m, expr: string) => {
    const lit = /^'((?:[^']|'')*)'$/.exec(expr);
    if (lit) return lit[1].replace(/''/g, "'");
    if (!/^[A-Za-z_][\w-]*(\.[\w-]+)*$/.test(expr))
      throw new Error(`unsupported expression in default: ${expr}`);
    let v: unknown = ctx;
    for (const part of expr.split('.'))
      v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    if (v === undefined || v === null) return '';
    return typeof v === 'object' ? JSON.stringify(v) : scalarText(v);
  });
}

function scalarText(v: unknown): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return v.toString();
  return JSON.stringify(v) ?? '';
}

/** The name of the variable an input is passed in, as the runner forms it. */
export function inputEnvName(name: string): string {
  return `INPUT_${name.replace(/ /g, '_').toUpperCase()}`;
}

function inputsEnv(
  action: ActionYaml,
  given: Record<string, string>,
  ctx: Record<string, unknown>,
): { inputEnv: Record<string, string>; warnings: string[] } {
  const declared = Object.keys(action.inputs ?? {});
  const inputEnv: Record<string, string> = {};
  const unexpected: string[] = [];
  const lowerGiven = new Map(Object.entries(given).map(([k, v]) => [k.toLowerCase(), { k, v }]));
  for (const name of declared) {
    const g = lowerGiven.get(name.toLowerCase());
    const def = action.inputs?.[name]?.default;
    if (g) inputEnv[inputEnvName(name)] = g.v;
    else if (def !== undefined && def !== null)
      inputEnv[inputEnvName(name)] = resolveExpressions(scalarText(def), ctx);
  }
  for (const [lk, { k, v }] of lowerGiven) {
    if (!declared.some((d) => d.toLowerCase() === lk)) {
      unexpected.push(k);
      inputEnv[inputEnvName(k)] = v;
    }
  }
  const warnings = unexpected.length
    ? [`Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${declared.join("', '")}']`]
    : [];
  return { inputEnv, warnings };
}

async function readAction(dir: string): Promise<ActionYaml> {
  let text: string | undefined;
  for (const f of ['action.yml', 'action.yaml']) {
    try {
      text = await readFile(path.join(dir, f), 'utf8');
      break;
    } catch {
      // try the other spelling
    }
  }
  if (text === undefined) throw new Error(`no action.yml in ${dir}`);
  const doc = parseYaml(text) as ActionYaml;
  if (!doc?.runs?.main) throw new Error(`action.yml in ${dir} has no runs.main`);
  return doc;
}

function defaultContext(c: Partial<RunContext> = {}, event?: WorkflowEvent): RunContext {
  const payloadRepo = (event?.payload.repository as { full_name?: string } | undefined)?.full_name;
  const pr = event?.payload.pull_request as { head?: { ref?: string }; base?: { ref?: string } } | undefined;
  return {
    repository: c.repository ?? payloadRepo ?? 'octo-org/octo-repo',
    runId: c.runId ?? '1658821493',
    runAttempt: c.runAttempt ?? '1',
    runNumber: c.runNumber ?? '7',
    sha: c.sha ?? 'ffac537e6cbbf934b08745a378932722df287a53',
    ref: c.ref ?? 'refs/heads/main',
    token: c.token ?? '',
    actor: c.actor ?? 'octocat',
    serverUrl: c.serverUrl ?? 'https://github.com',
    apiUrl: c.apiUrl ?? 'https://api.github.com',
    graphqlUrl: c.graphqlUrl ?? 'https://api.github.com/graphql',
    workflow: c.workflow ?? 'ci',
    job: c.job ?? 'test',
    headRef: c.headRef ?? pr?.head?.ref ?? '',
    baseRef: c.baseRef ?? pr?.base?.ref ?? '',
  };
}

function githubContext(
  c: RunContext,
  event: WorkflowEvent | undefined,
  workspace: string,
  action: string,
): Record<string, unknown> {
  return {
    token: c.token,
    repository: c.repository,
    repository_owner: c.repository.split('/')[0],
    run_id: c.runId,
    run_attempt: c.runAttempt,
    run_number: c.runNumber,
    sha: c.sha,
    ref: c.ref,
    actor: c.actor,
    server_url: c.serverUrl,
    api_url: c.apiUrl,
    graphql_url: c.graphqlUrl,
    workflow: c.workflow,
    job: c.job,
    head_ref: c.headRef,
    base_ref: c.baseRef,
    event_name: event?.name ?? 'workflow_dispatch',
    event: event?.payload ?? {},
    workspace,
    action,
  };
}

function applyEnvChanges(env: Record<string, string>, phase: PhaseResult): Record<string, string> {
  const next = { ...env, ...phase.env };
  if (phase.path.length) next.PATH = [...[...phase.path].reverse(), next.PATH ?? ''].join(path.delimiter);
  return next;
}

function skipped(phase: Phase, env: Record<string, string>): PhaseResult {
  return {
    phase,
    conclusion: 'skipped',
    exitCode: null,
    exitSignal: null,
    signalsSent: [],
    timedOut: false,
    outputs: {},
    state: {},
    summary: undefined,
    env: {},
    path: [],
    log: [],
    annotations: [],
    processEnv: env,
    durationMs: 0,
  };
}

async function tempDir(prefix: string, cleanup: string[]): Promise<string> {
  const d = await mkdtemp(path.join(os.tmpdir(), `gce-matrix-${prefix}`));
  cleanup.push(d);
  return d;
}
