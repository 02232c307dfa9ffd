import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import http from 'node:http';
import { endianness } from 'node:os';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { listenMetadata, loopbackPeerUid, MetadataEmulator } from '../../src/emulator/metadata.ts';
import type {
  ConnectionVerdict,
  MetadataClock,
  MetadataConnection,
  MetadataInstance,
} from '../../src/emulator/metadata.ts';

/** Time that moves only when told to, so lifetimes and `timeout_sec` are exact. */
class ManualClock implements MetadataClock {
  t = Date.parse('2025-06-01T00:00:00Z');
  private readonly timers = new Set<{ at: number; fn: () => void }>();
  now(): number {
    return this.t;
  }
  after(ms: number, fn: () => void): () => void {
    const timer = { at: this.t + ms, fn };
    this.timers.add(timer);
    return () => void this.timers.delete(timer);
  }
  advance(ms: number): void {
    this.t += ms;
    for (const timer of [...this.timers]) {
      if (timer.at > this.t) continue;
      this.timers.delete(timer);
      timer.fn();
    }
  }
}

const SA = 'vm@p.iam.gserviceaccount.com';
const OTHER_SA = 'other@p.iam.gserviceaccount.com';
const CLOUD = 'https://www.googleapis.com/auth/cloud-platform';
const FLAVOR = { 'metadata-flavor': 'Google' };

describe('metadata emulator', () => {
  const clock = new ManualClock();
  const state = { preempted: false, maintenanceEvent: 'NONE', attributes: {} as Record<string, string> };
  const instance = (): MetadataInstance => ({
    project: 'p',
    projectNumber: '123456789012',
    projectAttributes: { team: 'bench' },
    name: 'vm-1',
    id: '4242',
    zone: 'us-central1-a',
    machineType: 'e2-small',
    cpuPlatform: 'Intel Broadwell',
    image: 'projects/debian-cloud/global/images/debian-12',
    hostname: 'vm-1.us-central1-a.c.p.internal',
    preempted: state.preempted,
    maintenanceEvent: state.maintenanceEvent,
    attributes: state.attributes,
    tags: ['a', 'b'],
    networkIP: '10.128.0.9',
    serviceAccounts: [
      { email: SA, scopes: [CLOUD, 'https://www.googleapis.com/auth/userinfo.email'] },
      { email: OTHER_SA, scopes: [CLOUD] },
    ],
    scheduling: {
      automaticRestart: false,
      onHostMaintenance: 'TERMINATE',
      preemptible: true,
      provisioningModel: 'SPOT',
      instanceTerminationAction: 'DELETE',
      maxRunDurationSeconds: 600,
    },
  });
  const minted: { email: string; scopes: readonly string[] }[] = [];
  const emulator = new MetadataEmulator({
    instance,
    clock,
    tokens: (email, scopes) => {
      minted.push({ email, scopes });
      return { token: `tok-${minted.length}`, expiresAt: clock.now() + 3600_000 };
    },
  });
  const closing = new MetadataEmulator({ instance, clock, tokens: () => ({ token: 't', expiresAt: 0 }) });
  let server: Awaited<ReturnType<typeof listenMetadata>>;
  const md = (p: string, init: RequestInit = {}) =>
    fetch(`${server.url}/computeMetadata/v1/${p}`, { headers: FLAVOR, redirect: 'manual', ...init });
  const text = async (p: string): Promise<string> => {
    const res = await md(p);
    assert.equal(res.status, 200, p);
    return res.text();
  };
  const reset = () => {
    state.preempted = false;
    state.maintenanceEvent = 'NONE';
    state.attributes = { 'gce-matrix-run': 'r1', 'multi-line': 'a\nb\n', 'Mixed-Key': 'x' };
  };

  before(async () => {
    reset();
    server = await listenMetadata((req, res) => {
      if (req.url.pathname === '/boom') throw new Error('boom');
      if (req.url.pathname.startsWith('/closing/')) return closing.handle(req, res, '/closing');
      return emulator.handle(req, res);
    });
  });
  after(() => server.close());

  it('insists on Metadata-Flavor: Google and no X-Forwarded-For, and takes GET only', async () => {
    const cases: [string, RequestInit, number, RegExp][] = [
      ['no flavor', { headers: {} }, 403, /Missing Metadata-Flavor:Google header/],
      ['another flavor', { headers: { 'metadata-flavor': 'google' } }, 403, /Missing Metadata-Flavor/],
      ['forwarded', { headers: { ...FLAVOR, 'x-forwarded-for': '1.2.3.4' } }, 403, /X-Forwarded-For/],
      ['POST', { method: 'POST', body: 'x' }, 405, /POST/],
      ['HEAD', { method: 'HEAD' }, 405, /^$/],
    ];
    for (const [what, init, status, body] of cases) {
      const res = await md('instance/name', init);
      assert.equal(res.status, status, what);
      assert.match(await res.text(), body, what);
      assert.equal(res.headers.get('metadata-flavor'), 'Google', what);
      assert.match(res.headers.get('content-type') ?? '', /^text\/html/, what);
    }
    const root = await fetch(`${server.url}/`);
    assert.equal(root.status, 200, 'the root answers without the header');
    assert.equal(await root.text(), 'computeMetadata/\n');
    assert.equal(await (await fetch(`${server.url}/computeMetadata/`)).text(), 'v1/\n');
  });

  it('answers values as text, with the headers of the real server', async () => {
    const cases: [string, string][] = [
      ['instance/name', 'vm-1'],
      ['instance/id', '4242'],
      ['instance/zone', 'projects/123456789012/zones/us-central1-a'],
      ['instance/machine-type', 'projects/123456789012/machineTypes/e2-small'],
      ['instance/image', 'projects/debian-cloud/global/images/debian-12'],
      ['instance/hostname', 'vm-1.us-central1-a.c.p.internal'],
      ['instance/cpu-platform', 'Intel Broadwell'],
      ['instance/description', ''],
      ['instance/preempted', 'FALSE'],
      ['instance/maintenance-event', 'NONE'],
      ['instance/attributes/gce-matrix-run', 'r1'],
      ['instance/attributes/multi-line', 'a\nb\n'],
      ['instance/attributes/Mixed-Key', 'x'],
      ['instance/attributes/', 'gce-matrix-run\nmulti-line\nMixed-Key\n'],
      ['instance/tags?alt=text', 'a\nb\n'],
      ['instance/network-interfaces/0/ip', '10.128.0.9'],
      ['instance/scheduling/preemptible', 'TRUE'],
      ['instance/scheduling/automatic-restart', 'FALSE'],
      ['instance/scheduling/provisioning-model', 'SPOT'],
      ['instance/scheduling/instance-termination-action', 'DELETE'],
      ['instance/scheduling/max-run-duration', '600s'],
      ['instance/service-accounts/', `default/\n${SA}/\n${OTHER_SA}/\n`],
      ['instance/service-accounts/default/', 'aliases\nemail\nscopes\ntoken\nidentity\n'],
      ['instance/service-accounts/default/email', SA],
      ['instance/service-accounts/default/aliases', 'default'],
      [`instance/service-accounts/${OTHER_SA}/email`, OTHER_SA],
      [
        'instance/service-accounts/default/scopes',
        `${CLOUD}\nhttps://www.googleapis.com/auth/userinfo.email\n`,
      ],
      ['project/project-id', 'p'],
      ['project/numeric-project-id', '123456789012'],
      ['project/attributes/team', 'bench'],
    ];
    for (const [p, want] of cases) {
      const res = await md(p);
      assert.equal(res.status, 200, p);
      assert.equal(await res.text(), want, p);
      assert.equal(res.headers.get('content-type'), 'application/text', p);
      assert.equal(res.headers.get('metadata-flavor'), 'Google', p);
      assert.equal(res.headers.get('server'), 'Metadata Server for VM', p);
      assert.match(res.headers.get('etag') ?? '', /^[0-9a-f]{16}$/, p);
    }
    const root = await text('');
    assert.equal(root, 'instance/\nproject/\n');
  });

  it('answers JSON for alt=json and for the values that are JSON by default', async () => {
    const cases: [string, unknown][] = [
      ['instance/name?alt=json', 'vm-1'],
      ['instance/id?alt=json', 4242],
      ['project/numeric-project-id?alt=json', 123456789012],
      ['instance/tags', ['a', 'b']],
      [
        'instance/service-accounts/default/scopes?alt=json',
        [CLOUD, 'https://www.googleapis.com/auth/userinfo.email'],
      ],
    ];
    for (const [p, want] of cases) {
      const res = await md(p);
      assert.equal(res.headers.get('content-type'), 'application/json', p);
      assert.deepEqual(await res.json(), want, p);
    }
  });

  it('answers 404 for what does not exist, 400 for a bad path, 301 for a directory without its slash', async () => {
    const cases: [string, number][] = [
      ['instance/attributes/missing', 404],
      ['instance/no-such-thing', 404],
      ['instance/name/', 404],
      ['instance/name/deeper', 404],
      ['instance/attributes/toString', 404],
      ['instance/attributes/%zz', 400],
    ];
    for (const [p, status] of cases) {
      const res = await md(p);
      assert.equal(res.status, status, p);
      assert.equal(res.headers.get('metadata-flavor'), 'Google', p);
    }
    const v2 = await fetch(`${server.url}/computeMetadata/v2/instance/name`, { headers: FLAVOR });
    assert.equal(v2.status, 404);
    const moved = await md('instance/attributes');
    assert.equal(moved.status, 301);
    assert.equal(moved.headers.get('location'), `${server.url}/computeMetadata/v1/instance/attributes/`);
  });

  it('lists directories recursively as JSON (camelCase built-ins, keys as set) or as text', async () => {
    assert.deepEqual(JSON.parse(await text('instance/attributes/?recursive=true')), state.attributes);
    assert.deepEqual(JSON.parse(await text('instance/scheduling?recursive=true')), {
      automaticRestart: 'FALSE',
      onHostMaintenance: 'TERMINATE',
      preemptible: 'TRUE',
      provisioningModel: 'SPOT',
      instanceTerminationAction: 'DELETE',
      maxRunDuration: '600s',
    });
    const inst = JSON.parse(await text('instance/?recursive=true')) as Record<string, unknown>;
    assert.equal(inst.machineType, 'projects/123456789012/machineTypes/e2-small');
    assert.equal(inst.id, 4242);
    assert.equal(inst.maintenanceEvent, 'NONE');
    assert.deepEqual(inst.tags, ['a', 'b']);
    assert.deepEqual(inst.networkInterfaces, {
      '0': { ip: '10.128.0.9', network: 'projects/123456789012/networks/default' },
    });
    const accounts = inst.serviceAccounts as Record<string, Record<string, unknown>>;
    assert.deepEqual(Object.keys(accounts), ['default', SA, OTHER_SA]);
    assert.deepEqual(accounts.default, {
      aliases: 'default',
      email: SA,
      scopes: [CLOUD, 'https://www.googleapis.com/auth/userinfo.email'],
    });
    const all = JSON.parse(await text('?recursive=true')) as { project: Record<string, unknown> };
    assert.deepEqual(all.project, {
      attributes: { team: 'bench' },
      numericProjectId: 123456789012,
      projectId: 'p',
    });
    assert.equal(
      await text('instance/attributes/?recursive=true&alt=text'),
      'gce-matrix-run r1\nmulti-line a\nmulti-line b\nMixed-Key x\n',
    );
    assert.equal(
      await text('instance/network-interfaces/?recursive=true&alt=text'),
      '0/ip 10.128.0.9\n0/network projects/123456789012/networks/default\n',
    );
  });

  it('hands out the cached access token until it has five minutes left', async () => {
    const token = async (p = 'default') => {
      const res = await md(`instance/service-accounts/${p}/token`);
      assert.equal(res.headers.get('content-type'), 'application/json');
      return (await res.json()) as Record<string, unknown>;
    };
    const first = await token();
    assert.deepEqual(Object.keys(first).sort(), ['access_token', 'expires_in', 'token_type']);
    assert.equal(first.token_type, 'Bearer');
    assert.equal(first.expires_in, 3599);
    assert.deepEqual(minted.at(-1), { email: SA, scopes: instance().serviceAccounts[0].scopes });
    clock.advance(3000_000);
    const later = await token();
    assert.equal(later.access_token, first.access_token);
    assert.equal(later.expires_in, 599);
    clock.advance(300_000);
    const renewed = await token();
    assert.notEqual(renewed.access_token, first.access_token);
    assert.equal(renewed.expires_in, 3599);
    assert.notEqual((await token(OTHER_SA)).access_token, renewed.access_token);
    assert.equal(minted.at(-1)?.email, OTHER_SA);
    const scoped = (await (
      await md(
        'instance/service-accounts/default/token?scopes=https://www.googleapis.com/auth/devstorage.read_only',
      )
    ).json()) as Record<string, unknown>;
    assert.notEqual(scoped.access_token, renewed.access_token);
    assert.deepEqual(minted.at(-1)?.scopes, ['https://www.googleapis.com/auth/devstorage.read_only']);
  });

  it('issues identity tokens for an audience', async () => {
    assert.equal((await md('instance/service-accounts/default/identity')).status, 400);
    const jwt = await text('instance/service-accounts/default/identity?audience=https://x&format=full');
    const claims = JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()) as Record<
      string,
      unknown
    >;
    assert.equal(claims.aud, 'https://x');
    assert.equal(claims.email, SA);
    assert.equal(claims.iat, Math.floor(clock.now() / 1000));
    assert.deepEqual(
      (claims.google as { compute_engine: Record<string, unknown> }).compute_engine.instance_name,
      'vm-1',
    );
  });

  it('waits for a change: until changed(), until timeout_sec, or not at all when last_etag is stale', async () => {
    const before = await md('instance/preempted');
    const etag = before.headers.get('etag') ?? '';
    assert.equal(await before.text(), 'FALSE');

    // Given the etag it waits from, the wait cannot miss a change that lands before it starts.
    const waiting = md(`instance/preempted?wait_for_change=true&last_etag=${etag}`);
    await sleep(20);
    state.preempted = true;
    emulator.changed();
    const changed = await waiting;
    assert.equal(await changed.text(), 'TRUE');
    assert.notEqual(changed.headers.get('etag'), etag);

    const stale = await md(`instance/preempted?wait_for_change=true&last_etag=${etag}`);
    assert.equal(await stale.text(), 'TRUE', 'a stale last_etag answers at once');

    const eventTag = (await md('instance/maintenance-event')).headers.get('etag') ?? '';
    const event = md(`instance/maintenance-event?wait_for_change=true&last_etag=${eventTag}`);
    await sleep(20);
    state.maintenanceEvent = 'TERMINATE_ON_HOST_MAINTENANCE';
    emulator.changed();
    assert.equal(await (await event).text(), 'TERMINATE_ON_HOST_MAINTENANCE');

    // Without last_etag it waits from the value it finds; a wake-up without a change does not answer it.
    let answered = false;
    const timed = md('instance/preempted?wait_for_change=true&timeout_sec=30').finally(
      () => (answered = true),
    );
    await sleep(20);
    emulator.changed();
    await sleep(20);
    assert.equal(answered, false);
    for (let i = 0; !answered && i < 500; i++) {
      clock.advance(10_000);
      await sleep(10);
    }
    assert.equal(await (await timed).text(), 'TRUE', 'unchanged at the timeout: the current value');

    // A client that gives up leaves no waiter behind to answer into a closed socket.
    const gaveUp = new AbortController();
    const abandoned = md('instance/name?wait_for_change=true', { headers: FLAVOR, signal: gaveUp.signal });
    await sleep(20);
    gaveUp.abort();
    await assert.rejects(abandoned);
    emulator.changed();

    const dirTag = (await md('instance/attributes/?recursive=true')).headers.get('etag') ?? '';
    const dirWait = md(`instance/attributes/?recursive=true&wait_for_change=true&last_etag=${dirTag}`);
    await sleep(20);
    state.attributes = { ...state.attributes, added: 'yes' };
    emulator.changed();
    assert.equal(((await (await dirWait).json()) as Record<string, string>).added, 'yes');
    reset();
  });

  it('refuses wait_for_change on a plain listing and a bad timeout_sec', async () => {
    const cases: [string, RegExp][] = [
      ['instance/attributes/?wait_for_change=true', /Non-recursive directory listings/],
      ['instance/preempted?wait_for_change=true&timeout_sec=0', /timeout_sec/],
      ['instance/preempted?wait_for_change=true&timeout_sec=soon', /timeout_sec/],
    ];
    for (const [p, why] of cases) {
      const res = await md(p);
      assert.equal(res.status, 400, p);
      assert.match(await res.text(), why, p);
    }
  });

  it('serves under a mount path, answers waiters when closed, and turns a failure into a 500', async () => {
    const base = `${server.url}/closing/computeMetadata/v1`;
    assert.equal(await (await fetch(`${base}/instance/name`, { headers: FLAVOR })).text(), 'vm-1');
    const moved = await fetch(`${base}/instance/attributes`, { headers: FLAVOR, redirect: 'manual' });
    assert.equal(moved.headers.get('location'), `${base}/instance/attributes/`);
    const waiting = fetch(`${base}/instance/preempted?wait_for_change=true`, { headers: FLAVOR });
    await sleep(20);
    closing.close();
    assert.equal(await (await waiting).text(), 'FALSE');
    const failed = await fetch(`${server.url}/boom`);
    assert.equal(failed.status, 500);
    assert.match(await failed.text(), /boom/);
  });

  it('puts a connection filter in front: a rejected connection is reset before it is read, as a REJECT does', async () => {
    const seen: MetadataConnection[] = [];
    let verdict: ConnectionVerdict | 'throw' = 'reject';
    const filtered = await listenMetadata((req, res) => emulator.handle(req, res), {
      filter: (conn) => {
        seen.push(conn);
        if (verdict === 'throw') throw new Error('cannot tell');
        return verdict;
      },
    });
    /** GET instance/name on a fresh connection: the text, or the socket error's code. */
    const get = () =>
      new Promise<string>((resolve) => {
        const req = http.get(`${filtered.url}/computeMetadata/v1/instance/name`, {
          headers: FLAVOR,
          agent: false,
        });
        req.on('response', (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve(body));
        });
        req.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
      });
    try {
      assert.equal(await get(), 'ECONNRESET');
      verdict = 'throw';
      assert.equal(await get(), 'ECONNRESET', 'a filter that cannot decide refuses');
      verdict = 'accept';
      assert.equal(await get(), 'vm-1');
      const port = Number(new URL(filtered.url).port);
      assert.equal(seen.length, 3);
      for (const conn of seen) {
        assert.deepEqual(
          [conn.localAddress, conn.localPort, conn.remoteAddress],
          ['127.0.0.1', port, '127.0.0.1'],
        );
        assert.ok(conn.remotePort > 0 && conn.remotePort !== port);
      }
    } finally {
      await filtered.close();
    }
  });

  it("tells the uid of a loopback client's socket from the kernel's socket tables", async () => {
    const le = endianness() === 'LE';
    const hex4 = (bytes: number[]) =>
      (le ? [...bytes].reverse() : bytes)
        .map((b) => b.toString(16).padStart(2, '0'))
        .join('')
        .toUpperCase();
    const conn: MetadataConnection = {
      remoteAddress: '127.0.0.1',
      remotePort: 0xa1b2,
      localAddress: '127.0.0.1',
      localPort: 8080,
    };
    const client = `${hex4([127, 0, 0, 1])}:A1B2`;
    const server = `${hex4([127, 0, 0, 1])}:1F90`;
    const line = (local: string, remote: string, uid: number) =>
      `   7: ${local} ${remote} 01 00000000:00000000 00:00000000 00000000  ${uid}        0 4242 1 0000000000000000 20 4 30 10 -1`;
    const header =
      '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode';
    const tables: Record<string, string> = {
      '/proc/net/tcp': [header, line(server, client, 0), line(client, server, 2000000123)].join('\n'),
      '/proc/net/tcp6': header,
    };
    const read = (file: string) => {
      const text = tables[file];
      if (text === undefined) throw new Error(`no ${file}`);
      return text;
    };
    assert.equal(loopbackPeerUid(conn, read), 2000000123, "the client's end, not the server's");
    assert.equal(loopbackPeerUid({ ...conn, remotePort: 0xa1b3 }, read), undefined, 'a socket that is gone');
    // an IPv6 server sees IPv4 clients as ::ffff:a.b.c.d, in tcp6
    const mapped = (b: number[]) =>
      hex4([0, 0, 0, 0]) + hex4([0, 0, 0, 0]) + hex4([0, 0, 255, 255]) + hex4(b);
    tables['/proc/net/tcp'] = header;
    tables['/proc/net/tcp6'] = [
      header,
      line(`${mapped([127, 0, 0, 1])}:A1B2`, `${mapped([127, 0, 0, 1])}:1F90`, 77),
    ].join('\n');
    const v6 = { ...conn, remoteAddress: '::ffff:127.0.0.1', localAddress: '::ffff:127.0.0.1' };
    assert.equal(loopbackPeerUid(v6, read), 77);
    assert.equal(
      loopbackPeerUid(conn, () => {
        throw new Error('no /proc');
      }),
      undefined,
    );

    // and on this machine, for real: a connection of this process is this process's uid
    if (!existsSync('/proc/net/tcp') || process.getuid === undefined) return;
    const uid = process.getuid();
    let found: number | undefined | 'unset' = 'unset';
    const real = await listenMetadata((req, res) => emulator.handle(req, res), {
      filter: (c) => {
        found = loopbackPeerUid(c);
        return 'accept';
      },
    });
    try {
      await (await fetch(`${real.url}/computeMetadata/v1/instance/name`, { headers: FLAVOR })).text();
      assert.equal(found, uid);
    } finally {
      await real.close();
    }
  });

  it('listens where it is told', async () => {
    const own = await listenMetadata((req, res) => emulator.handle(req, res), { host: '127.0.0.2' });
    try {
      assert.match(own.url, /^http:\/\/127\.0\.0\.2:\d+$/);
      const res = await fetch(`${own.url}/computeMetadata/v1/instance/name`, { headers: FLAVOR });
      assert.equal(await res.text(), 'vm-1');
    } finally {
      await own.close();
    }
  });
});
