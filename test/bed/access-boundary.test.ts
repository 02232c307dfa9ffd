import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import {
  AccessBoundaryError,
  MAX_ACCESS_BOUNDARY_RULES,
  accessBoundaryOptions,
  boundaryAllows,
  downscopedTokenRefusal,
  isStorageOnly,
  parseAccessBoundary,
  parseAccessBoundaryOptions,
} from './access-boundary.ts';
import type { AccessBoundaryRuleSpec } from './access-boundary.ts';
import { bucketResource, objectListResource, objectResource, projectResource } from './iam.ts';
import type { IamResource } from './iam.ts';
import { CLOUD_PLATFORM_SCOPE } from './identity.ts';
import type { TestBed } from './index.ts';
import { startTestBed } from './index.ts';
import type { Principal } from './tokens.ts';

const run = promisify(execFile);

const TOKEN_EXCHANGE = 'urn:ietf:params:oauth:grant-type:token-exchange';
const ACCESS_TOKEN = 'urn:ietf:params:oauth:token-type:access_token';
const BUCKET = (name: string): string => `//storage.googleapis.com/projects/_/buckets/${name}`;
const VIEWER = 'inRole:roles/storage.objectViewer';

const rule = (bucket: string, extra: Partial<AccessBoundaryRuleSpec> = {}): AccessBoundaryRuleSpec => ({
  availableResource: BUCKET(bucket),
  availablePermissions: [VIEWER],
  ...extra,
});
const options = (...rules: unknown[]): string =>
  JSON.stringify({ accessBoundary: { accessBoundaryRules: rules } });

describe('reading a Credential Access Boundary', () => {
  const refused: { name: string; input: string | { boundary: unknown }; message: RegExp }[] = [
    { name: 'text that is not JSON', input: 'bucket=b', message: /not a JSON object/ },
    { name: 'a JSON array', input: '[]', message: /not a JSON object/ },
    { name: 'options without a boundary', input: '{"userProject":"p"}', message: /"accessBoundary"/ },
    { name: 'an empty rule list', input: options(), message: /at least one rule/ },
    {
      name: 'more than ten rules',
      input: options(...Array.from({ length: MAX_ACCESS_BOUNDARY_RULES + 1 }, (_, i) => rule(`b-${i}`))),
      message: /at most 10 rules/,
    },
    {
      name: 'an unknown options field',
      input: JSON.stringify({ accessBoundary: { accessBoundaryRules: [rule('bkt-1')] }, boundary: 1 }),
      message: /unknown field "boundary"/,
    },
    {
      name: 'a misspelt rule field (which would otherwise drop the condition)',
      input: options({ ...rule('bkt-1'), availabilityConditions: { expression: 'true' } }),
      message: /unknown field "availabilityConditions"/,
    },
    {
      name: 'a project as the resource',
      input: options({
        ...rule('bkt-1'),
        availableResource: '//cloudresourcemanager.googleapis.com/projects/p',
      }),
      message: /only Cloud Storage buckets/,
    },
    {
      name: 'an object as the resource',
      input: options({ ...rule('bkt-1'), availableResource: `${BUCKET('bkt-1')}/objects/o` }),
      message: /only Cloud Storage buckets/,
    },
    {
      name: 'a bucket name Cloud Storage refuses',
      input: options(rule('Not_A_Bucket')),
      message: /only Cloud Storage buckets/,
    },
    {
      name: 'a missing resource',
      input: options({ availablePermissions: [VIEWER] }),
      message: /availableResource/,
    },
    {
      name: 'no permissions',
      input: options({ ...rule('bkt-1'), availablePermissions: [] }),
      message: /at least one role/,
    },
    {
      name: 'a bare permission instead of a role',
      input: options({ ...rule('bkt-1'), availablePermissions: ['storage.objects.get'] }),
      message: /only roles are supported/,
    },
    {
      name: 'a role without its roles/ part',
      input: options({ ...rule('bkt-1'), availablePermissions: ['inRole:storage.objectViewer'] }),
      message: /only roles are supported/,
    },
    {
      name: 'a condition without an expression',
      input: options(rule('bkt-1', { availabilityCondition: { title: 't' } as never })),
      message: /"expression" is required/,
    },
    {
      name: 'a condition that does not compile',
      input: options(
        rule('bkt-1', { availabilityCondition: { expression: "resource.name.startsWith('x'" } }),
      ),
      message: /availabilityCondition: condition/,
    },
    {
      name: 'a condition that is not a boolean',
      input: options(rule('bkt-1', { availabilityCondition: { expression: 'resource.name' } })),
      message: /must be a bool/,
    },
    {
      name: 'a condition title that is not a string',
      input: options(rule('bkt-1', { availabilityCondition: { expression: 'true', title: 7 } as never })),
      message: /"title" must be a string/,
    },
    {
      name: 'options longer than 2048 characters',
      input: options(
        rule('bkt-1', { availabilityCondition: { expression: `resource.name == '${'x'.repeat(2100)}'` } }),
      ),
      message: /longer than 2048 characters/,
    },
    {
      name: 'a condition expression longer than 2048 characters',
      input: {
        boundary: {
          accessBoundaryRules: [
            rule('bkt-1', {
              availabilityCondition: { expression: `resource.name == '${'x'.repeat(2100)}'` },
            }),
          ],
        },
      },
      message: /expression is longer than 2048 characters/,
    },
  ];
  for (const c of refused) {
    it(`refuses ${c.name} as STS does (invalid_request)`, () => {
      assert.throws(
        () =>
          typeof c.input === 'string'
            ? parseAccessBoundaryOptions(c.input)
            : parseAccessBoundary(c.input.boundary),
        (err: unknown) => {
          assert.ok(err instanceof AccessBoundaryError, String(err));
          assert.equal(err.error, 'invalid_request');
          assert.match(err.message, c.message);
          return true;
        },
      );
    });
  }

  it('reads rules with and without conditions, keeping what the request said', () => {
    const condition = {
      expression: "resource.name.startsWith('projects/_/buckets/bkt-1/objects/run-1/')",
      title: 'run 1',
      description: 'only the first run',
    };
    const rules = parseAccessBoundaryOptions(
      accessBoundaryOptions([
        rule('bkt-1', { availabilityCondition: condition }),
        rule('b.2.example', { availablePermissions: [VIEWER, 'inRole:roles/storage.objectCreator'] }),
      ]),
    );
    assert.deepEqual(rules, [
      {
        availableResource: BUCKET('bkt-1'),
        availablePermissions: [VIEWER],
        availabilityCondition: condition,
        bucket: 'bkt-1',
        roles: ['roles/storage.objectViewer'],
      },
      {
        availableResource: BUCKET('b.2.example'),
        availablePermissions: [VIEWER, 'inRole:roles/storage.objectCreator'],
        bucket: 'b.2.example',
        roles: ['roles/storage.objectViewer', 'roles/storage.objectCreator'],
      },
    ]);
  });

  it('says so when a role is one the bed does not model, rather than answering as Google would', () => {
    assert.throws(
      () =>
        parseAccessBoundaryOptions(
          options(rule('bkt-1', { availablePermissions: ['inRole:roles/storage.legacyX'] })),
        ),
      (err: unknown) => !(err instanceof AccessBoundaryError) && /not one the bed models/.test(String(err)),
    );
  });

  it('resolves custom roles with the resolver it is given', () => {
    const custom = 'projects/bed-project/roles/runReader';
    const resolve = (role: string): readonly string[] => (role === custom ? ['storage.objects.get'] : []);
    const rules = parseAccessBoundaryOptions(
      options(rule('bkt-1', { availablePermissions: [`inRole:${custom}`] })),
      resolve,
    );
    assert.equal(boundaryAllows(rules, 'storage.objects.get', objectResource('bkt-1', 'x'), resolve), true);
    assert.equal(boundaryAllows(rules, 'storage.objects.list', objectListResource('bkt-1'), resolve), false);
  });
});

describe('what a boundary leaves available', () => {
  const rules = parseAccessBoundaryOptions(
    accessBoundaryOptions([
      rule('artifacts', {
        availabilityCondition: {
          expression: "resource.name.startsWith('projects/_/buckets/artifacts/objects/run-1/')",
        },
      }),
      rule('artifacts', {
        availabilityCondition: {
          expression: "api.getAttribute('storage.googleapis.com/objectListPrefix', '').startsWith('run-1/')",
        },
      }),
      rule('results', { availablePermissions: ['inRole:roles/storage.objectCreator'] }),
      rule('shared', {
        availablePermissions: ['inRole:roles/storage.objectAdmin'],
        availabilityCondition: { expression: "resource.name.extract('/objects/{team}/') == 'team-a'" },
      }),
    ]),
  );
  const cases: [string, string, IamResource, boolean][] = [
    [
      'an object under the allowed prefix',
      'storage.objects.get',
      objectResource('artifacts', 'run-1/a.txt'),
      true,
    ],
    [
      'an object under another prefix',
      'storage.objects.get',
      objectResource('artifacts', 'run-2/a.txt'),
      false,
    ],
    [
      'a name that only shares the prefix text',
      'storage.objects.get',
      objectResource('artifacts', 'run-10'),
      false,
    ],
    [
      'a listing with the allowed prefix',
      'storage.objects.list',
      objectListResource('artifacts', 'run-1/'),
      true,
    ],
    [
      'a listing deeper in the prefix',
      'storage.objects.list',
      objectListResource('artifacts', 'run-1/x/'),
      true,
    ],
    ['a listing of the whole bucket', 'storage.objects.list', objectListResource('artifacts'), false],
    [
      'a listing with another prefix',
      'storage.objects.list',
      objectListResource('artifacts', 'run-2/'),
      false,
    ],
    ['a write the role lacks', 'storage.objects.create', objectResource('artifacts', 'run-1/new'), false],
    ['a delete the role lacks', 'storage.objects.delete', objectResource('artifacts', 'run-1/a.txt'), false],
    ['a write in the creator bucket', 'storage.objects.create', objectResource('results', 'any/thing'), true],
    ['a read the creator role lacks', 'storage.objects.get', objectResource('results', 'any/thing'), false],
    [
      'the same object name in another bucket',
      'storage.objects.get',
      objectResource('other', 'run-1/a.txt'),
      false,
    ],
    ['bucket metadata no role holds', 'storage.buckets.get', bucketResource('results'), false],
    ['a call on the project', 'storage.buckets.list', projectResource('bed-project'), false],
    [
      'an object in the team the condition extracts',
      'storage.objects.delete',
      objectResource('shared', 'team-a/f'),
      true,
    ],
    ['an object of another team', 'storage.objects.delete', objectResource('shared', 'team-b/f'), false],
    [
      'an object outside any team folder',
      'storage.objects.delete',
      objectResource('shared', 'team-a'),
      false,
    ],
  ];
  for (const [name, permission, resource, expected] of cases) {
    it(`${expected ? 'allows' : 'refuses'} ${permission} on ${name}`, () => {
      assert.equal(boundaryAllows(rules, permission, resource), expected);
    });
  }

  it('throws for a permission the IAM model does not know', () => {
    assert.throws(
      () => boundaryAllows(rules, 'storage.objects.restore', objectResource('artifacts', 'x')),
      /not modelled/,
    );
  });

  it('marks a downscoped principal as usable with Cloud Storage only', () => {
    const base: Principal = {
      subject: 'serviceAccount:a@p.iam.gserviceaccount.com',
      scopes: [],
      kind: 'service-account',
    };
    assert.equal(isStorageOnly(base), false);
    assert.equal(isStorageOnly({ ...base, accessBoundary: rules }), true);
  });

  it("builds the 401 other APIs answer to a downscoped token, with Compute Engine's error list", () => {
    const compute = downscopedTokenRefusal('compute.googleapis.com', 'compute.v1.InstancesService.Insert');
    const secrets = downscopedTokenRefusal(
      'secretmanager.googleapis.com',
      'google.cloud.secretmanager.v1.SecretManagerService.AccessSecretVersion',
    );
    for (const refusal of [compute, secrets]) {
      assert.equal(refusal.status, 401);
      assert.match(refusal.headers['www-authenticate'] ?? '', /error="invalid_token"/);
      const { error } = refusal.body as { error: Record<string, unknown> };
      assert.equal(error.code, 401);
      assert.equal(error.status, 'UNAUTHENTICATED');
      assert.match(String(error.message), /^Request had invalid authentication credentials/);
      const [info] = error.details as { reason: string; domain: string; metadata: Record<string, string> }[];
      assert.equal(info?.reason, 'ACCESS_TOKEN_TYPE_UNSUPPORTED');
      assert.equal(info?.domain, 'googleapis.com');
    }
    assert.deepEqual((compute.body as { error: { errors: unknown[] } }).error.errors, [
      {
        message: 'Invalid Credentials',
        domain: 'global',
        reason: 'authError',
        location: 'Authorization',
        locationType: 'header',
      },
    ]);
    assert.equal((secrets.body as { error: { errors?: unknown } }).error.errors, undefined);
    assert.equal(
      (secrets.body as { error: { details: { metadata: { service: string } }[] } }).error.details[0]?.metadata
        .service,
      'secretmanager.googleapis.com',
    );
  });
});

describe('downscoping over HTTP with the STS stand-in', () => {
  let bed: TestBed;
  let tokenUrl: string;
  before(async () => {
    bed = await startTestBed();
    tokenUrl = new URL('v1/token', bed.endpointEnv.CLOUDSDK_API_ENDPOINT_OVERRIDES_STS).href;
  });
  after(() => bed.close());

  const vm = (extra: Partial<Principal> = {}, lifetimeSeconds?: number): string =>
    bed.tokens.issue(
      {
        subject: `serviceAccount:${bed.vmServiceAccount}`,
        email: bed.vmServiceAccount,
        scopes: [CLOUD_PLATFORM_SCOPE],
        kind: 'service-account',
        ...extra,
      },
      lifetimeSeconds,
    ).token;
  const boundary = accessBoundaryOptions([
    rule('bed-results', {
      availabilityCondition: {
        expression: "resource.name.startsWith('projects/_/buckets/bed-results/objects/exp-1/')",
        title: 'exp-1 only',
      },
    }),
  ]);
  const form = (fields: Record<string, string | undefined>): Record<string, string> => {
    const full: Record<string, string | undefined> = {
      grant_type: TOKEN_EXCHANGE,
      subject_token_type: ACCESS_TOKEN,
      requested_token_type: ACCESS_TOKEN,
      options: boundary,
      ...fields,
    };
    return Object.fromEntries(Object.entries(full).filter((e): e is [string, string] => e[1] !== undefined));
  };
  const post = async (
    fields: Record<string, string>,
    json = false,
  ): Promise<{ status: number; type: string; body: Record<string, unknown> }> => {
    const res = await fetch(tokenUrl, {
      method: 'POST',
      headers: { 'content-type': json ? 'application/json' : 'application/x-www-form-urlencoded' },
      body: json ? JSON.stringify(fields) : new URLSearchParams(fields).toString(),
    });
    return {
      status: res.status,
      type: res.headers.get('content-type') ?? '',
      body: (await res.json()) as Record<string, unknown>,
    };
  };

  it('exchanges an access token for one of the same principal, narrowed to the boundary, expiring with it', async () => {
    const subject = vm();
    const res = await post(form({ subject_token: subject }));
    assert.equal(res.status, 200);
    assert.deepEqual(Object.keys(res.body).sort(), [
      'access_token',
      'expires_in',
      'issued_token_type',
      'token_type',
    ]);
    assert.equal(res.body.token_type, 'Bearer');
    assert.equal(res.body.issued_token_type, ACCESS_TOKEN);
    const expiresIn = res.body.expires_in as number;
    assert.ok(expiresIn > 3500 && expiresIn <= 3600, String(expiresIn));

    const down = bed.tokens.lookup(String(res.body.access_token));
    const source = bed.tokens.lookup(subject);
    assert.ok(down && source);
    assert.equal(down.expiresAt, source.expiresAt);
    assert.equal(down.principal.subject, source.principal.subject);
    assert.equal(down.principal.email, bed.vmServiceAccount);
    assert.deepEqual(down.principal.scopes, source.principal.scopes);
    assert.equal(source.principal.accessBoundary, undefined);
    const rules = down.principal.accessBoundary;
    assert.ok(rules && isStorageOnly(down.principal));
    assert.equal(
      boundaryAllows(rules, 'storage.objects.get', objectResource('bed-results', 'exp-1/out.txt')),
      true,
    );
    assert.equal(
      boundaryAllows(rules, 'storage.objects.get', objectResource('bed-results', 'exp-2/out.txt')),
      false,
    );
    // The bearer check the other stand-ins use sees the boundary too.
    assert.ok(bed.tokens.check(`Bearer ${String(res.body.access_token)}`)?.accessBoundary);
  });

  it('takes the camelCase JSON body too', async () => {
    const res = await post(
      {
        grantType: TOKEN_EXCHANGE,
        subjectTokenType: ACCESS_TOKEN,
        requestedTokenType: ACCESS_TOKEN,
        subjectToken: vm(),
        options: boundary,
      },
      true,
    );
    assert.equal(res.status, 200);
    assert.ok(bed.tokens.lookup(String(res.body.access_token))?.principal.accessBoundary);
  });

  it('answers the request an agent sends with curl', async () => {
    const subject = vm();
    const { stdout } = await run('curl', [
      '-sS',
      '-X',
      'POST',
      tokenUrl,
      '-H',
      'Content-Type: application/x-www-form-urlencoded',
      '--data-urlencode',
      `grant_type=${TOKEN_EXCHANGE}`,
      '--data-urlencode',
      `subject_token_type=${ACCESS_TOKEN}`,
      '--data-urlencode',
      `requested_token_type=${ACCESS_TOKEN}`,
      '--data-urlencode',
      `subject_token=${subject}`,
      '--data-urlencode',
      `options=${boundary}`,
      '-w',
      '\n%{http_code}',
    ]);
    const [text, code] = stdout.split('\n');
    assert.equal(code, '200', stdout);
    const body = JSON.parse(text ?? '') as { access_token: string };
    assert.equal(bed.tokens.lookup(body.access_token)?.principal.accessBoundary?.[0]?.bucket, 'bed-results');
  });

  it('keeps a federated principal (pool and attributes) and leaves expires_in out for a user account', async () => {
    const pool = 'projects/123456789012/locations/global/workloadIdentityPools/github';
    const federated = bed.tokens.issue({
      subject: `principal://iam.googleapis.com/${pool}/subject/repo:o/r:ref:refs/heads/main`,
      scopes: [CLOUD_PLATFORM_SCOPE],
      kind: 'federated',
      pool,
      attributes: { repository: 'o/r' },
    } as Principal).token;
    const fed = await post(form({ subject_token: federated }));
    assert.equal(fed.status, 200);
    assert.equal(typeof fed.body.expires_in, 'number');
    const principal = bed.tokens.lookup(String(fed.body.access_token))?.principal as Principal & {
      pool?: string;
      attributes?: Record<string, string>;
    };
    assert.equal(principal.pool, pool);
    assert.deepEqual(principal.attributes, { repository: 'o/r' });

    const user = await post(
      form({ subject_token: vm({ subject: 'user:alice@example.com', email: 'alice@example.com' }) }),
    );
    assert.equal(user.status, 200);
    assert.equal('expires_in' in user.body, false);
  });

  it('lets the downscoped token expire with the subject token', async () => {
    const subject = vm({}, 1);
    const res = await post(form({ subject_token: subject }));
    assert.equal(res.status, 200);
    assert.ok((res.body.expires_in as number) <= 1);
    const down = String(res.body.access_token);
    assert.ok(bed.tokens.lookup(down));
    await bed.clock.sleep(1100);
    assert.equal(bed.tokens.lookup(subject), undefined);
    assert.equal(bed.tokens.lookup(down), undefined);
  });

  const refusals: {
    name: string;
    fields: () => Record<string, string>;
    error: string;
    description: RegExp;
  }[] = [
    {
      name: 'an unknown subject token',
      fields: () => form({ subject_token: 'ya29.not-one-the-bed-issued' }),
      error: 'invalid_grant',
      description: /invalid or has expired/,
    },
    {
      name: 'an expired subject token',
      fields: () => form({ subject_token: vm({}, 0) }),
      error: 'invalid_grant',
      description: /invalid or has expired/,
    },
    {
      name: 'a token that is already downscoped',
      fields: () => form({ subject_token: vm({ accessBoundary: parseAccessBoundaryOptions(boundary) }) }),
      error: 'invalid_grant',
      description: /already has security attributes/,
    },
    {
      name: 'a subject token without the cloud-platform scope',
      fields: () =>
        form({ subject_token: vm({ scopes: ['https://www.googleapis.com/auth/devstorage.read_write'] }) }),
      error: 'invalid_grant',
      description: /cloud-platform/,
    },
    {
      name: 'a request without options',
      fields: () => form({ subject_token: vm(), options: undefined }),
      error: 'invalid_request',
      description: /"options"/,
    },
    {
      name: 'options that are not JSON',
      fields: () => form({ subject_token: vm(), options: 'accessBoundary=bed-results' }),
      error: 'invalid_request',
      description: /not a JSON object/,
    },
    {
      name: 'eleven rules',
      fields: () =>
        form({
          subject_token: vm(),
          options: options(...Array.from({ length: 11 }, (_, i) => ({ availableResource: BUCKET(`b${i}`) }))),
        }),
      error: 'invalid_request',
      description: /at most 10 rules/,
    },
    {
      name: 'a rule on a project',
      fields: () =>
        form({
          subject_token: vm(),
          options: options({
            ...rule('x'),
            availableResource: '//cloudresourcemanager.googleapis.com/projects/p',
          }),
        }),
      error: 'invalid_request',
      description: /only Cloud Storage buckets/,
    },
    {
      name: 'a missing requested_token_type',
      fields: () => form({ subject_token: vm(), requested_token_type: undefined }),
      error: 'invalid_request',
      description: /requested_token_type/,
    },
    {
      name: 'an ID token as the requested type',
      fields: () =>
        form({ subject_token: vm(), requested_token_type: 'urn:ietf:params:oauth:token-type:id_token' }),
      error: 'invalid_request',
      description: /requested_token_type/,
    },
    {
      name: 'a missing subject token',
      fields: () => form({}),
      error: 'invalid_request',
      description: /subject_token/,
    },
    {
      name: 'another grant type',
      fields: () => form({ subject_token: vm(), grant_type: 'refresh_token' }),
      error: 'unsupported_grant_type',
      description: /grant_type/,
    },
  ];
  for (const r of refusals) {
    it(`answers 400 ${r.error} to ${r.name}`, async () => {
      const res = await post(r.fields());
      assert.equal(res.status, 400);
      assert.match(res.type, /^application\/json/);
      assert.deepEqual(Object.keys(res.body).sort(), ['error', 'error_description']);
      assert.equal(res.body.error, r.error);
      assert.match(String(res.body.error_description), r.description);
    });
  }
});
