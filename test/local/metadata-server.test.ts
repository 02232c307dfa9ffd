import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { crc32c } from '../../src/local/crc32c.ts';
import type { LocalMetadata } from '../../src/local/metadata-server.ts';
import { startLocalMetadata } from '../../src/local/metadata-server.ts';

const PROJECT = 'local-project';

describe('local metadata server', () => {
  let meta: LocalMetadata;
  const md = (name: string, sub: string, headers: Record<string, string> = { 'metadata-flavor': 'Google' }) =>
    fetch(`${meta.hostFor(name)}/computeMetadata/v1/${sub}`, { headers, redirect: 'manual' });
  const text = async (name: string, sub: string): Promise<string> => {
    const res = await md(name, sub);
    assert.equal(res.status, 200, `${sub}: HTTP ${res.status}`);
    assert.equal(res.headers.get('metadata-flavor'), 'Google');
    return res.text();
  };
  const tokenOf = async (name: string): Promise<string> =>
    ((await (await md(name, 'instance/service-accounts/default/token')).json()) as { access_token: string })
      .access_token;
  const access = (resource: string, token?: string) =>
    fetch(`${meta.secretManagerEndpoint}v1/${resource}:access`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });

  before(async () => {
    meta = await startLocalMetadata({ project: PROJECT });
    meta.register({
      name: 'vm-1',
      attributes: { 'gce-matrix-bucket': 'results', 'multi-line': 'a\nb\n', 'Mixed-Key': 'x' },
      secrets: {
        [`projects/${PROJECT}/secrets/api-key/versions/latest`]: 'key-\u00e9-value',
        [`projects/${PROJECT}/secrets/rotated/versions/1`]: 'old',
        [`projects/${PROJECT}/secrets/rotated/versions/2`]: 'new',
      },
    });
    meta.register({ name: 'vm-2', attributes: {} });
  });
  after(() => meta.close());

  it('gives each instance a URL for GCE_METADATA_HOST and Secret Manager an endpoint', () => {
    assert.match(meta.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(meta.hostFor('vm-1'), `${meta.url}/instances/vm-1`);
    assert.equal(meta.secretManagerEndpoint, `${meta.url}/secretmanager/`);
  });

  it('serves each registered instance under its own path, and 404 for others', async () => {
    assert.equal(await text('vm-1', 'instance/name'), 'vm-1');
    assert.equal(await text('vm-2', 'instance/name'), 'vm-2');
    assert.equal(await text('vm-1', 'instance/attributes/'), 'gce-matrix-bucket\nmulti-line\nMixed-Key\n');
    assert.equal((await md('vm-2', 'instance/attributes/gce-matrix-bucket')).status, 404);
    assert.equal((await md('vm-9', 'instance/name')).status, 404);
    assert.equal((await fetch(`${meta.url}/elsewhere`)).status, 404);
    const moved = await md('vm-1', 'instance/attributes');
    assert.equal(
      moved.headers.get('location'),
      `${meta.hostFor('vm-1')}/computeMetadata/v1/instance/attributes/`,
    );
  });

  it('describes a local instance of the project, on a host CPU, with the default compute account', async () => {
    const number = await text('vm-1', 'project/numeric-project-id');
    assert.match(number, /^\d{12}$/);
    assert.equal(await text('vm-1', 'project/project-id'), PROJECT);
    assert.equal(await text('vm-1', 'instance/zone'), `projects/${number}/zones/local`);
    assert.equal(await text('vm-1', 'instance/machine-type'), `projects/${number}/machineTypes/local`);
    assert.equal(await text('vm-1', 'instance/image'), 'local');
    assert.match(await text('vm-1', 'instance/id'), /^\d+$/);
    assert.notEqual(await text('vm-1', 'instance/id'), await text('vm-2', 'instance/id'));
    assert.equal(await text('vm-1', 'instance/hostname'), `vm-1.local.c.${PROJECT}.internal`);
    const cpu = await text('vm-1', 'instance/cpu-platform');
    assert.ok(cpu.length > 0 && !cpu.includes('\n'), JSON.stringify(cpu));
    assert.equal(
      await text('vm-1', 'instance/service-accounts/default/email'),
      `${number}-compute@developer.gserviceaccount.com`,
    );
    assert.equal(await text('vm-1', 'instance/scheduling/provisioning-model'), 'STANDARD');
  });

  it('hands out an access token per instance', async () => {
    const body = (await (await md('vm-1', 'instance/service-accounts/default/token')).json()) as {
      access_token: string;
      expires_in: number;
    };
    assert.match(body.access_token, /^local\.[\w-]{20,}$/);
    assert.ok(body.expires_in > 3500 && body.expires_in < 3600, String(body.expires_in));
    assert.notEqual(await tokenOf('vm-2'), body.access_token);
  });

  it('reports preemption as it is set, waking those who wait for it', async () => {
    assert.equal(await text('vm-1', 'instance/preempted'), 'FALSE');
    const etag = (await md('vm-1', 'instance/preempted')).headers.get('etag') ?? '';
    const waiting = md('vm-1', `instance/preempted?wait_for_change=true&last_etag=${etag}`);
    await new Promise((r) => setTimeout(r, 20));
    meta.setPreempted('vm-1', true);
    assert.equal(await (await waiting).text(), 'TRUE');
    assert.equal(await text('vm-2', 'instance/preempted'), 'FALSE');
    meta.setPreempted('vm-1', false);
    assert.equal(await text('vm-1', 'instance/preempted'), 'FALSE');
    assert.throws(() => meta.setPreempted('vm-9', true), /vm-9/);
    assert.throws(() => meta.register({ name: 'vm-1', attributes: {} }), /already registered/);
  });

  it("answers Secret Manager's access call with the calling instance's secrets", async () => {
    const token = await tokenOf('vm-1');
    const res = await access(`projects/${PROJECT}/secrets/api-key/versions/latest`, token);
    assert.equal(res.status, 200);
    const body = (await res.json()) as { name: string; payload: { data: string; dataCrc32c: string } };
    const value = Buffer.from(body.payload.data, 'base64');
    assert.equal(value.toString('utf8'), 'key-\u00e9-value');
    assert.equal(body.payload.dataCrc32c, String(crc32c(value)));
    assert.match(body.name, /^projects\/\d+\/secrets\/api-key\/versions\//);

    const latest = (await (
      await access(`projects/${PROJECT}/secrets/rotated/versions/latest`, token)
    ).json()) as {
      name: string;
      payload: { data: string };
    };
    assert.equal(Buffer.from(latest.payload.data, 'base64').toString(), 'new');
    assert.match(latest.name, /\/versions\/2$/);
    const first = (await (await access(`projects/${PROJECT}/secrets/rotated/versions/1`, token)).json()) as {
      payload: { data: string };
    };
    assert.equal(Buffer.from(first.payload.data, 'base64').toString(), 'old');

    const unknown = await access(`projects/${PROJECT}/secrets/nope/versions/latest`, token);
    assert.equal(unknown.status, 404);
    const err = (await unknown.json()) as { error: { code: number; message: string; status: string } };
    assert.equal(err.error.code, 404);
    assert.equal(err.error.status, 'NOT_FOUND');
    assert.match(err.error.message, /nope/);

    // Another instance was not given the secret; no token is no access.
    const other = await access(`projects/${PROJECT}/secrets/api-key/versions/latest`, await tokenOf('vm-2'));
    assert.equal(other.status, 404);
    assert.equal((await access(`projects/${PROJECT}/secrets/api-key/versions/latest`)).status, 401);
    assert.equal(
      (await access(`projects/${PROJECT}/secrets/api-key/versions/latest`, 'made-up')).status,
      401,
    );
  });

  it('forgets an unregistered instance and its token', async () => {
    meta.register({
      name: 'vm-3',
      attributes: { k: 'v' },
      secrets: { [`projects/${PROJECT}/secrets/s`]: 'x' },
    });
    const token = await tokenOf('vm-3');
    assert.equal((await access(`projects/${PROJECT}/secrets/s/versions/latest`, token)).status, 200);
    meta.unregister('vm-3');
    assert.equal((await md('vm-3', 'instance/attributes/k')).status, 404);
    assert.equal((await access(`projects/${PROJECT}/secrets/s/versions/latest`, token)).status, 401);
    meta.register({ name: 'vm-3', attributes: { k: 'again' } });
    assert.equal(await text('vm-3', 'instance/attributes/k'), 'again');
  });
});
