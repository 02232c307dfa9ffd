/** Debian's Chromium, started headless for the browser tests, in its own process group. */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { pathToFileURL } from 'node:url';
import type { CdpConnection } from './cdp.ts';
import { connectCdp } from './cdp.ts';

/** Where Debian installs it. */
export const CHROMIUM = '/usr/bin/chromium';
/** Why the browser tests cannot run here, when they cannot. */
export const MISSING = existsSync(CHROMIUM)
  ? undefined
  : `${CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium) for the headless browser check of the HTML report`;

/** A started browser. */
export interface Browser {
  readonly process: ChildProcess;
  readonly port: number;
  stderr(): string;
}

/** Starts Chromium in its own process group and waits for the DevTools port it picked. */
export async function startChromium(profile: string): Promise<Browser> {
  const child = spawn(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${profile}`,
      '--remote-debugging-port=0',
      'about:blank',
    ],
    { detached: true, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  let exit: string | undefined;
  child.once('exit', (code, signal) => {
    exit = `exited with ${code ?? signal}`;
  });
  const browser: Browser = { process: child, port: 0, stderr: () => stderr };
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (exit) throw new Error(`chromium ${exit} before opening DevTools:\n${stderr}`);
    const text = await readFile(path.join(profile, 'DevToolsActivePort'), 'utf8').catch(() => '');
    const port = Number(text.split('\n')[0]);
    // The file may be seen half-written: only a whole line with a port counts.
    if (text.includes('\n') && Number.isInteger(port) && port > 0) return { ...browser, port };
    if (Date.now() > deadline) throw new Error(`chromium wrote no DevToolsActivePort in 15 s:\n${stderr}`);
    await sleep(50);
  }
}

/** Kills Chromium's whole process group (renderers, GPU and zygote processes included) and waits for it. */
export async function stopChromium(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    return;
  }
  await Promise.race([exited, sleep(5000, undefined, { ref: false })]);
}

/** Opens `file` in a page of the browser at 1280x900 and waits for its load event. */
export async function openPage(browser: Browser, file: string): Promise<CdpConnection> {
  const targets = (await (await fetch(`http://127.0.0.1:${browser.port}/json/list`)).json()) as {
    type: string;
    webSocketDebuggerUrl?: string;
  }[];
  let target = targets.find((t) => t.type === 'page' && t.webSocketDebuggerUrl);
  if (!target) {
    const created = await fetch(`http://127.0.0.1:${browser.port}/json/new?about:blank`, { method: 'PUT' });
    target = (await created.json()) as { type: string; webSocketDebuggerUrl?: string };
  }
  if (!target.webSocketDebuggerUrl) throw new Error('chromium offers no page target to drive');
  const page = await connectCdp(target.webSocketDebuggerUrl);
  await page.send('Emulation.setDeviceMetricsOverride', {
    width: 1280,
    height: 900,
    deviceScaleFactor: 1,
    mobile: false,
  });
  await page.send('Page.enable');
  const loaded = page.next('Page.loadEventFired');
  const navigated = await page.send<{ errorText?: string }>('Page.navigate', {
    url: pathToFileURL(file).href,
  });
  if (navigated.errorText) throw new Error(`navigating to ${file}: ${navigated.errorText}`);
  await loaded;
  return page;
}

/** Evaluates an expression in the page and returns its value; an exception in the page is thrown here. */
export async function evaluate<T>(page: CdpConnection, expression: string): Promise<T> {
  const r = await page.send<{
    result: { value?: unknown };
    exceptionDetails?: { text: string; exception?: { description?: string } };
  }>('Runtime.evaluate', { expression, returnByValue: true });
  if (r.exceptionDetails) {
    throw new Error(`in the page: ${r.exceptionDetails.exception?.description ?? r.exceptionDetails.text}`);
  }
  return r.result.value as T;
}
