import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import {
  accessSync,
  chmodSync,
  constants,
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { BedClock } from './clock.ts';
import { GUEST_KERNEL_DIR, GUEST_TOOLS_DIR, imageTools, reserveUidBlock } from './guest-image.ts';

/** The serial console keeps this much output, as Compute Engine does (the last 1 MB). */
export const SERIAL_BUFFER_BYTES = 1024 * 1024;

/** The guest environment version the serial console claims. */
export const GUEST_AGENT_VERSION = '20250204.02';

/** One serial port: an append-only byte stream of which only the last `capacity` bytes are kept. */
export class SerialPort {
  private chunks: Buffer[] = [];
  private kept = 0;
  /** Bytes ever written. */
  total = 0;
  readonly capacity: number;

  constructor(capacity = SERIAL_BUFFER_BYTES) {
    this.capacity = capacity;
  }

  write(text: string): void {
    const data = Buffer.from(text, 'utf8');
    this.chunks.push(data);
    this.kept += data.length;
    this.total += data.length;
    if (this.kept > this.capacity * 2) this.compact();
  }

  /** Offset of the oldest byte still available. */
  get oldest(): number {
    return Math.max(0, this.total - Math.min(this.kept, this.capacity));
  }

  /**
   * The `getSerialPortOutput` view: a negative start counts back from the end, a start older than the buffer
   * moves up to the oldest byte kept, and a start beyond the end returns nothing and echoes the start.
   */
  read(start: number): { contents: string; start: number; next: number } {
    let from = start < 0 ? this.total + start : start;
    if (from < this.oldest) from = this.oldest;
    if (from >= this.total) return { contents: '', start: from, next: from };
    const all = Buffer.concat(this.chunks);
    const bufStart = this.total - all.length;
    return { contents: all.subarray(from - bufStart).toString('utf8'), start: from, next: this.total };
  }

  /** Everything still kept, as text. */
  text(): string {
    return this.read(0).contents;
  }

  private compact(): void {
    const all = Buffer.concat(this.chunks);
    const keep = all.subarray(all.length - this.capacity);
    this.chunks = [Buffer.from(keep)];
    this.kept = keep.length;
  }
}

/** Formats a guest syslog line as it reaches the serial console (`Mar  3 10:11:12 host prog[pid]: msg`). */
export function syslogLine(at: number, host: string, program: string, pid: number, message: string): string {
  const d = new Date(at);
  const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const two = (n: number) => String(n).padStart(2, '0');
  const stamp = `${months[d.getUTCMonth()]} ${String(d.getUTCDate()).padStart(2, ' ')} ${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())}`;
  return `${stamp} ${host} ${program}[${pid}]: ${message}\n`;
}

/** A metadata script (startup or shutdown) running as a local process group. */
export interface GuestScript {
  readonly key: string;
  readonly pid: number;
  /** Resolves with the exit code (null when killed by a signal) once the script's own process exits. */
  readonly exited: Promise<number | null>;
  /** Signals the script's whole process group. */
  signal(sig: NodeJS.Signals): void;
}

/** The directories of one instance's "disk" on the host, each bound into its sandbox. */
export interface GuestDirs {
  /** Bound read-write as `/var/tmp` (mode 1777, as on a VM): the agent's state, kept across runs. */
  varTmp: string;
  /** Bound read-write as `/root` (mode 700), the guest's HOME. */
  home: string;
  /** Where the runner writes the metadata scripts; each is bound read-only into the guest alone. */
  scripts: string;
  /** The instance's own `passwd` and `group` (copies of the image's), bound over /etc's. */
  etc: string;
  /** The emulated kernel's state (its firewall), bound read-write at GUEST_KERNEL_DIR, mode 700. */
  kernel: string;
  /** The image's stand-in tools (guest-image.ts), bound read-only at GUEST_TOOLS_DIR. */
  tools: string;
}

/** Where a guest finds the metadata script it runs (a read-only bind of the one file). */
export const GUEST_SCRIPT_DIR = '/run/google-metadata-scripts';

/** The guest environment's HOME. */
export const GUEST_HOME = '/root';

/**
 * Creates (if need be) and names the host directories of the instance whose directory is `dir`: its disk, its
 * own user database and kernel state, and the image's stand-in tools, set up for a block of uids of its own.
 */
export function guestDirs(
  dir: string,
  image: { containerEngine?: boolean; vcpus?: number; memoryMb?: number } = {},
): GuestDirs {
  const dirs = {
    varTmp: path.join(dir, 'var-tmp'),
    home: path.join(dir, 'root'),
    scripts: path.join(dir, 'scripts'),
    etc: path.join(dir, 'etc'),
    kernel: path.join(dir, 'kernel'),
    tools: path.join(dir, 'tools'),
  };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true });
  chmodSync(dirs.varTmp, 0o1777);
  chmodSync(dirs.home, 0o700);
  chmodSync(dirs.kernel, 0o700);
  // The image's users, as published: not one that an agent run outside the bed may have left on this host.
  for (const file of ['passwd', 'group']) {
    const copy = path.join(dirs.etc, file);
    if (existsSync(copy)) continue;
    const lines = readFileSync(path.join('/etc', file), 'utf8').split('\n');
    writeFileSync(copy, lines.filter((l) => !l.startsWith('gce-matrix-')).join('\n'), { mode: 0o644 });
  }
  if (!existsSync(path.join(dirs.tools, 'useradd'))) {
    for (const [name, content] of Object.entries(
      imageTools(reserveUidBlock(), {
        containerEngine: image.containerEngine === true,
        ...(image.vcpus ? { vcpus: image.vcpus } : {}),
      }),
    )) {
      mkdirSync(path.dirname(path.join(dirs.tools, name)), { recursive: true });
      writeFileSync(path.join(dirs.tools, name), content, { mode: 0o755 });
    }
  }
  // The machine type's memory, as the guest's /proc/meminfo says it.
  const meminfo = path.join(dirs.kernel, 'meminfo');
  if (image.memoryMb && !existsSync(meminfo)) {
    const kb = image.memoryMb * 1024;
    writeFileSync(meminfo, `MemTotal:       ${kb} kB\nMemFree:        ${kb} kB\nMemAvailable:   ${kb} kB\n`, {
      mode: 0o644,
    });
  }
  return dirs;
}

export interface RunScriptOptions {
  /** Metadata key, e.g. `startup-script`; the file and the serial prefix are named after it. */
  key: string;
  /** `startup` or `shutdown`, for the runner's own messages. */
  phase: string;
  content: string;
  /** The instance's disk: what its sandbox sees besides the image. */
  dirs: GuestDirs;
  env: Record<string, string>;
  host: string;
  serial: SerialPort;
  clock: BedClock;
  /** Called with each spawned pid, so the owner can kill the group later. */
  onSpawn: (pid: number) => void;
}

/**
 * Runs a metadata script the way google_metadata_script_runner does: written to a file, executed through its
 * shebang or else /bin/bash, every output line copied to the serial console, then its exit status reported.
 * The script runs in a bubblewrap sandbox that shows the image (the host's /usr and /etc, read-only) and the
 * instance's own disk, nothing else of the host. The process is detached into its own process group so the
 * whole tree can be killed at once.
 */
export function runScript(opts: RunScriptOptions): GuestScript {
  const file = path.join(opts.dirs.scripts, opts.key);
  writeFileSync(file, opts.content);
  chmodSync(file, 0o755);
  const guestFile = `${GUEST_SCRIPT_DIR}/${opts.key}`;
  const hasShebang = opts.content.startsWith('#!');
  const sandbox = sandboxArgs(opts.dirs, [[file, guestFile]]);
  const child: ChildProcess = spawn(
    sandbox.bwrap,
    [...sandbox.args, '--', ...(hasShebang ? [guestFile] : ['/bin/bash', guestFile])],
    {
      cwd: opts.dirs.home,
      env: opts.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  const pid = child.pid ?? -1;
  if (pid > 0) opts.onSpawn(pid);
  const log = (message: string) =>
    opts.serial.write(syslogLine(opts.clock.now(), opts.host, 'google_metadata_script_runner', pid, message));
  log(`Starting ${opts.phase} scripts (version ${GUEST_AGENT_VERSION}).`);
  log(`Found ${opts.key} in metadata.`);
  let pending = 2;
  let closed: () => void = () => {};
  const streamsDone = new Promise<void>((resolve) => (closed = resolve));
  for (const stream of [child.stdout, child.stderr]) {
    let carry = '';
    stream?.setEncoding('utf8');
    stream?.on('data', (chunk: string) => {
      const lines = (carry + chunk).split('\n');
      carry = lines.pop() ?? '';
      for (const line of lines) log(`${opts.key}: ${line.replace(/\r$/, '')}`);
    });
    stream?.on('close', () => {
      if (carry) log(`${opts.key}: ${carry}`);
      if (--pending === 0) closed();
    });
  }
  const exited = new Promise<number | null>((resolve) => {
    let code: number | null = null;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      log(`${opts.key} exit status ${code ?? 1}`);
      log(`Finished running ${opts.phase} scripts.`);
      resolve(code);
    };
    child.on('error', (err) => {
      log(`${opts.key}: ${err.message}`);
      finish();
    });
    child.on('exit', (c) => {
      code = c;
      // Output of the script's last moments arrives after 'exit'; background children may hold the pipes
      // open for much longer, so wait only briefly for them.
      const t = setTimeout(finish, 200);
      void streamsDone.then(() => {
        clearTimeout(t);
        finish();
      });
    });
  });
  return {
    key: opts.key,
    pid,
    exited,
    signal(sig) {
      killGroup(pid, sig);
    },
  };
}

/** Commands of a container engine: an image has them only when it ships one. */
const ENGINE_COMMANDS = new Set(['docker', 'podman', 'dockerd', 'containerd', 'nerdctl', 'runc', 'crun']);
/** Where a guest finds the host's own /usr/bin when the host's has to be filtered (see hostBinds). */
const HOST_USR_BIN = '/.host-usr-bin';
let filteredUsrBin: string | null | undefined;

/**
 * The binds that make the host's command directories look like a Google image's: /usr/local/bin empty, and,
 * when the host has a container engine in /usr/bin, a /usr/bin of links to every other command there (as
 * root, a shell runs any file it finds, so an engine cannot be masked by a file that is not executable).
 */
function hostBinds(): string[] {
  if (filteredUsrBin === undefined) {
    const names = readdirSync('/usr/bin');
    if (!names.some((n) => ENGINE_COMMANDS.has(n))) {
      filteredUsrBin = null;
    } else {
      filteredUsrBin = mkdtempSync(path.join(tmpdir(), 'gce-matrix-guest-usr-bin-'));
      chmodSync(filteredUsrBin, 0o755);
      for (const name of names) {
        if (!ENGINE_COMMANDS.has(name))
          symlinkSync(`${HOST_USR_BIN}/${name}`, path.join(filteredUsrBin, name));
      }
    }
  }
  const binds = ['--tmpfs', '/usr/local/bin'];
  if (filteredUsrBin)
    binds.push('--ro-bind', '/usr/bin', HOST_USR_BIN, '--ro-bind', filteredUsrBin, '/usr/bin');
  return binds;
}

/** How to fix a machine without a working bubblewrap. */
const SANDBOX_FIX = 'the test bed runs each instance under bubblewrap: apt-get install bubblewrap';

/** The `bwrap` that passed `checkSandbox`. */
let bwrapPath: string | undefined;

/** The host's `bwrap` on PATH (or /usr/bin), or undefined. */
function findBwrap(): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter(Boolean), '/usr/bin', '/bin'];
  for (const dir of dirs) {
    const candidate = path.join(dir, 'bwrap');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * The bwrap command line of a guest: the image's system directories read-only (/bin, /lib, ... mirrored as
 * the host has them, symlinks into /usr or directories) with the image's stand-in tools and the instance's
 * own passwd and group over them, a fresh /proc, /dev and /tmp (1777), the instance's disk as /var/tmp and
 * /root, its kernel state, and `files` (host path, guest path) bound read-only. Network and pid namespace stay
 * the host's: the stand-ins listen on 127.0.0.1, and the bed kills an instance by its process group while a
 * shutdown run signals its startup run's command by pid. Because the network is the host's, the guest's root
 * does not get CAP_NET_ADMIN: its firewall is the emulated one (guest-image.ts), never the host's.
 */
function sandboxArgs(dirs: GuestDirs, files: [string, string][]): { bwrap: string; args: string[] } {
  const bwrap = bwrapPath ?? findBwrap();
  if (bwrap === undefined) throw new Error(`${SANDBOX_FIX} (no bwrap on PATH)`);
  const args = ['--die-with-parent', '--ro-bind', '/usr', '/usr'];
  for (const top of ['/bin', '/sbin', '/lib', '/lib32', '/lib64', '/libx32']) {
    let stat;
    try {
      stat = lstatSync(top);
    } catch {
      continue;
    }
    if (stat.isSymbolicLink()) args.push('--symlink', readlinkSync(top), top);
    else if (stat.isDirectory()) args.push('--ro-bind', top, top);
  }
  args.push(
    '--ro-bind',
    '/etc',
    '/etc',
    '--proc',
    '/proc',
    '--dev',
    '/dev',
    '--perms',
    '1777',
    '--tmpfs',
    '/tmp',
  );
  args.push('--bind', path.join(dirs.etc, 'passwd'), '/etc/passwd');
  args.push('--bind', path.join(dirs.etc, 'group'), '/etc/group');
  // Directories bwrap would make on its own for the binds below come out 700; a VM's are 755.
  args.push('--perms', '0755', '--dir', '/var', '--perms', '0755', '--dir', '/run');
  args.push('--bind', dirs.varTmp, '/var/tmp', '--bind', dirs.home, GUEST_HOME);
  // The image is Google's, not this host: a container engine installed here is not the guest's to find.
  args.push(...hostBinds());
  args.push('--ro-bind', dirs.tools, GUEST_TOOLS_DIR, '--bind', dirs.kernel, GUEST_KERNEL_DIR);
  const meminfo = path.join(dirs.kernel, 'meminfo');
  if (existsSync(meminfo)) args.push('--ro-bind', meminfo, '/proc/meminfo');
  for (const [host, guest] of files) args.push('--ro-bind', host, guest);
  args.push('--cap-drop', 'CAP_NET_ADMIN', '--chdir', '/');
  return { bwrap, args };
}

/**
 * Fails unless a guest sandbox can be made on this machine: the bed never lets an instance see the host's
 * files instead. Runs one trivial sandbox per process; throws with the fix named.
 */
export function checkSandbox(): void {
  if (bwrapPath !== undefined) return;
  const bwrap = findBwrap();
  if (bwrap === undefined) throw new Error(`${SANDBOX_FIX} (no bwrap on PATH)`);
  const scratch = mkdtempSync(path.join(tmpdir(), 'gce-matrix-sandbox-'));
  try {
    const dirs = guestDirs(scratch);
    const probe = path.join(dirs.scripts, 'probe');
    writeFileSync(
      probe,
      'test -d /var/tmp && test -d /root && test -e /usr && test ! -e "$1" && test -k /tmp && ' +
        `test -x ${GUEST_TOOLS_DIR}/nft && test -w ${GUEST_KERNEL_DIR} && grep -q '^root:' /etc/passwd\n`,
    );
    const { args } = sandboxArgs(dirs, [[probe, `${GUEST_SCRIPT_DIR}/probe`]]);
    const r = spawnSync(bwrap, [...args, '--', '/bin/sh', `${GUEST_SCRIPT_DIR}/probe`, scratch], {
      encoding: 'utf8',
      timeout: 10_000,
    });
    if (r.error || r.status !== 0) {
      const why = r.error?.message ?? (r.stderr.trim() || `exit status ${r.status ?? r.signal}`);
      throw new Error(`${SANDBOX_FIX} (${bwrap} is there but cannot make a sandbox here: ${why})`);
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  bwrapPath = bwrap;
}

/** Signals a process group, ignoring one that is already gone. */
export function killGroup(pid: number, sig: NodeJS.Signals): void {
  if (pid <= 0) return;
  try {
    process.kill(-pid, sig);
  } catch {
    // ESRCH: the group has exited already.
  }
}

/** True while a process with this pid exists and is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // Field 3 of /proc/PID/stat is the state; the command name before it may contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}
