import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { buildInstance } from '../../src/launch/instance.ts';
import { parseLaunchInputs } from '../../src/launch/inputs.ts';
import {
  IamModel,
  MODELLED_PERMISSIONS,
  OBJECT_LIST_PREFIX,
  PREDEFINED_ROLES,
  applySetup,
  bucketResource,
  compileCondition,
  computeDenied,
  computeResource,
  computeServiceAccountAccessDenied,
  evaluateCondition,
  iamCredentialsDenied,
  instanceInsertPermissions,
  instanceResource,
  memberMatches,
  objectListResource,
  objectResource,
  parseReadmeSetup,
  parseSetupScript,
  projectResource,
  readmeSetupScript,
  resourceFromName,
  secretManagerDenied,
  secretVersionResource,
  serviceAccountResource,
  storageDenied,
  validateMember,
} from './iam.ts';
import type { Caller, IamResource } from './iam.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const PROJECT = 'bed-project';
const NUMBER = '123456789012';
const BUCKET = 'bed-results';
const REPO_ID = '424242';
const POOL = `projects/${NUMBER}/locations/global/workloadIdentityPools/github`;
const LAUNCHER = `gce-matrix-launcher@${PROJECT}.iam.gserviceaccount.com`;
const VM = `gce-matrix-vm@${PROJECT}.iam.gserviceaccount.com`;
const ZONE = 'us-central1-a';

const sa = (email: string): Caller => ({ subject: `serviceAccount:${email}`, email });
const user = (email: string): Caller => ({ subject: `user:${email}`, email });
const federated = (subject: string, attributes: Record<string, string>, pool = POOL): Caller => ({
  subject: `principal://iam.googleapis.com/${pool}/subject/${subject}`,
  pool,
  attributes,
});
const launcher = sa(LAUNCHER);
const vm = sa(VM);
const workflow = federated('repo:octo-org/octo-repo:ref:refs/heads/main', {
  repository: 'octo-org/octo-repo',
  repository_id: REPO_ID,
});

describe('principals', () => {
  const cases: [string, string, Caller | undefined, boolean][] = [
    ['allUsers names a call without credentials', 'allUsers', undefined, true],
    ['allUsers names a service account', 'allUsers', launcher, true],
    ['allAuthenticatedUsers needs credentials', 'allAuthenticatedUsers', undefined, false],
    ['allAuthenticatedUsers names a service account', 'allAuthenticatedUsers', launcher, true],
    ['allAuthenticatedUsers names a Google account', 'allAuthenticatedUsers', user('ada@example.com'), true],
    ['allAuthenticatedUsers excludes federated identities', 'allAuthenticatedUsers', workflow, false],
    ['serviceAccount: names that account', `serviceAccount:${LAUNCHER}`, launcher, true],
    [
      'serviceAccount: compares emails without case',
      `serviceAccount:${LAUNCHER.toUpperCase()}`,
      launcher,
      true,
    ],
    ['serviceAccount: names no other account', `serviceAccount:${VM}`, launcher, false],
    ['serviceAccount: is not user:', `serviceAccount:ada@example.com`, user('ada@example.com'), false],
    ['user: names that Google account', 'user:ada@example.com', user('ada@example.com'), true],
    ['serviceAccount: names no anonymous caller', `serviceAccount:${LAUNCHER}`, undefined, false],
    [
      'principal:// names its subject',
      `principal://iam.googleapis.com/${POOL}/subject/repo:octo-org/octo-repo:ref:refs/heads/main`,
      workflow,
      true,
    ],
    [
      'principal:// names no other subject',
      `principal://iam.googleapis.com/${POOL}/subject/repo:x/y:ref:z`,
      workflow,
      false,
    ],
    ['principalSet /* names the whole pool', `principalSet://iam.googleapis.com/${POOL}/*`, workflow, true],
    [
      'principalSet /* names no other pool',
      `principalSet://iam.googleapis.com/projects/${NUMBER}/locations/global/workloadIdentityPools/other/*`,
      workflow,
      false,
    ],
    [
      'principalSet attribute matches the mapped value',
      `principalSet://iam.googleapis.com/${POOL}/attribute.repository_id/${REPO_ID}`,
      workflow,
      true,
    ],
    [
      'principalSet attribute values may hold slashes',
      `principalSet://iam.googleapis.com/${POOL}/attribute.repository/octo-org/octo-repo`,
      workflow,
      true,
    ],
    [
      'principalSet attribute compares the whole value',
      `principalSet://iam.googleapis.com/${POOL}/attribute.repository_id/42424`,
      workflow,
      false,
    ],
    [
      'principalSet attribute of another name',
      `principalSet://iam.googleapis.com/${POOL}/attribute.repository/${REPO_ID}`,
      workflow,
      false,
    ],
    ['principalSet names no service account', `principalSet://iam.googleapis.com/${POOL}/*`, launcher, false],
  ];
  for (const [name, member, caller, expected] of cases) {
    it(name, () => assert.equal(memberMatches(member, caller), expected));
  }

  it('accepts the identifiers it can match and refuses the others', () => {
    for (const member of [
      'allUsers',
      'allAuthenticatedUsers',
      `serviceAccount:${LAUNCHER}`,
      'user:ada@example.com',
      `principal://iam.googleapis.com/${POOL}/subject/repo:o/r:ref:refs/heads/main`,
      `principalSet://iam.googleapis.com/${POOL}/*`,
      `principalSet://iam.googleapis.com/${POOL}/attribute.repository/o/r`,
    ]) {
      assert.doesNotThrow(() => validateMember(member), member);
    }
    for (const member of [
      'group:team@example.com',
      'domain:example.com',
      `serviceAccount:${PROJECT}`,
      'allusers',
      `principalSet://iam.googleapis.com/projects/${PROJECT}/locations/global/workloadIdentityPools/github/*`,
      `principalSet://iam.googleapis.com/${POOL}/group/admins`,
      `principal://iam.googleapis.com/${POOL}/attribute.repository/o/r`,
    ]) {
      assert.throws(() => validateMember(member), /not one this model can match/, member);
    }
  });
});

describe('roles', () => {
  const model = new IamModel();
  const cases: [string, string, boolean][] = [
    ['roles/compute.instanceAdmin.v1', 'compute.instances.create', true],
    ['roles/compute.instanceAdmin.v1', 'compute.instances.delete', true],
    ['roles/compute.instanceAdmin.v1', 'compute.disks.create', true],
    ['roles/compute.instanceAdmin.v1', 'compute.subnetworks.use', true],
    ['roles/compute.instanceAdmin.v1', 'compute.subnetworks.useExternalIp', true],
    ['roles/compute.instanceAdmin.v1', 'compute.instances.setServiceAccount', true],
    ['roles/compute.instanceAdmin.v1', 'compute.images.useReadOnly', true],
    ['roles/compute.instanceAdmin.v1', 'compute.zoneOperations.get', true],
    ['roles/compute.instanceAdmin.v1', 'iam.serviceAccounts.actAs', false],
    ['roles/compute.instanceAdmin.v1', 'storage.objects.get', false],
    ['roles/compute.viewer', 'compute.instances.get', true],
    ['roles/compute.viewer', 'compute.instances.getSerialPortOutput', true],
    ['roles/compute.viewer', 'compute.instances.delete', false],
    ['roles/compute.viewer', 'compute.images.useReadOnly', false],
    ['roles/compute.viewer', 'compute.subnetworks.use', false],
    ['roles/compute.imageUser', 'compute.images.useReadOnly', true],
    ['roles/compute.imageUser', 'compute.instances.create', false],
    ['roles/iam.serviceAccountUser', 'iam.serviceAccounts.actAs', true],
    ['roles/iam.serviceAccountUser', 'iam.serviceAccounts.getAccessToken', false],
    ['roles/iam.workloadIdentityUser', 'iam.serviceAccounts.getAccessToken', true],
    ['roles/iam.workloadIdentityUser', 'iam.serviceAccounts.actAs', false],
    ['roles/iam.serviceAccountTokenCreator', 'iam.serviceAccounts.getAccessToken', true],
    ['roles/iam.serviceAccountTokenCreator', 'iam.serviceAccounts.signJwt', true],
    ['roles/iam.serviceAccountOpenIdTokenCreator', 'iam.serviceAccounts.getAccessToken', false],
    ['roles/storage.objectAdmin', 'storage.objects.delete', true],
    ['roles/storage.objectAdmin', 'storage.objects.setIamPolicy', true],
    ['roles/storage.objectAdmin', 'storage.buckets.get', false],
    ['roles/storage.objectUser', 'storage.objects.update', true],
    ['roles/storage.objectUser', 'storage.objects.setIamPolicy', false],
    ['roles/storage.objectCreator', 'storage.objects.create', true],
    ['roles/storage.objectCreator', 'storage.objects.get', false],
    ['roles/storage.objectCreator', 'storage.objects.delete', false],
    ['roles/storage.objectViewer', 'storage.objects.list', true],
    ['roles/storage.objectViewer', 'storage.objects.create', false],
    ['roles/storage.admin', 'storage.buckets.create', true],
    ['roles/secretmanager.secretAccessor', 'secretmanager.versions.access', true],
    ['roles/secretmanager.secretAccessor', 'secretmanager.versions.list', false],
    ['roles/artifactregistry.reader', 'artifactregistry.repositories.downloadArtifacts', true],
  ];
  for (const [role, permission, expected] of cases) {
    it(`${role} ${expected ? 'holds' : 'lacks'} ${permission}`, () => {
      assert.equal(model.rolePermissions(role).includes(permission), expected);
    });
  }

  it('lists only modelled permissions, each once and sorted', () => {
    for (const [role, permissions] of Object.entries(PREDEFINED_ROLES)) {
      assert.deepEqual([...permissions], [...new Set(permissions)].sort(), role);
      for (const p of permissions) assert.ok(MODELLED_PERMISSIONS.includes(p), `${role}: ${p}`);
    }
    assert.deepEqual([...MODELLED_PERMISSIONS], [...new Set(MODELLED_PERMISSIONS)].sort());
  });

  it('refuses roles it does not model, and takes custom roles with their permissions', () => {
    assert.throws(() => model.rolePermissions('roles/editor'), /basic role/);
    assert.throws(() => model.rolePermissions('roles/compute.admin'), /not modelled/);
    assert.throws(() => model.addCustomRole('roles/mine', []), /not a custom role name/);
    model.addCustomRole(`projects/${PROJECT}/roles/vmSelfDelete`, ['compute.instances.delete']);
    assert.deepEqual(model.rolePermissions(`projects/${PROJECT}/roles/vmSelfDelete`), [
      'compute.instances.delete',
    ]);
  });
});

describe('conditions', () => {
  const bucketObject = (bucket: string, name: string) => objectResource(bucket, name);
  const gcemInstance = (name: string) => instanceResource(PROJECT, ZONE, name);
  const cases: [string, string, IamResource, boolean][] = [
    ['equality on a bucket name', "resource.name == 'projects/_/buckets/a.b'", bucketResource('a.b'), true],
    [
      'a dot is no wildcard (a.b vs a_b)',
      "resource.name == 'projects/_/buckets/a.b'",
      bucketResource('a_b'),
      false,
    ],
    [
      'a dot is no wildcard in a prefix either',
      "resource.name.startsWith('projects/_/buckets/a.b/objects/')",
      bucketObject('a_b', 'x'),
      false,
    ],
    [
      'a bucket prefix without its slash reaches sibling buckets',
      `resource.name.startsWith('projects/_/buckets/${BUCKET}')`,
      bucketObject(`${BUCKET}-old`, 'x'),
      true,
    ],
    [
      'a bucket prefix with its slash does not',
      `resource.name.startsWith('projects/_/buckets/${BUCKET}/')`,
      bucketObject(`${BUCKET}-old`, 'x'),
      false,
    ],
    [
      'an object prefix without its slash reaches sibling runs (r1 vs r10)',
      `resource.name.startsWith('projects/_/buckets/${BUCKET}/objects/runs/r1')`,
      bucketObject(BUCKET, 'runs/r10/status.json'),
      true,
    ],
    [
      'an object prefix with its slash does not',
      `resource.name.startsWith('projects/_/buckets/${BUCKET}/objects/runs/r1/')`,
      bucketObject(BUCKET, 'runs/r10/status.json'),
      false,
    ],
    [
      'an instance prefix reaches gcem- siblings that extend it',
      `resource.name.startsWith('projects/${PROJECT}/zones/${ZONE}/instances/gcem-run1')`,
      gcemInstance('gcem-run10-x-a1'),
      true,
    ],
    [
      'an instance prefix ended by a dash does not',
      `resource.name.startsWith('projects/${PROJECT}/zones/${ZONE}/instances/gcem-run1-')`,
      gcemInstance('gcem-run10-x-a1'),
      false,
    ],
    ['endsWith', "resource.name.endsWith('/status.json')", bucketObject(BUCKET, 'runs/r1/status.json'), true],
    [
      'endsWith is literal',
      "resource.name.endsWith('.json')",
      bucketObject(BUCKET, 'runs/r1/status_json'),
      false,
    ],
    [
      'extract between the template parts',
      `resource.name.extract('projects/_/buckets/{bucket}/') == '${BUCKET}'`,
      bucketObject(BUCKET, 'a'),
      true,
    ],
    [
      'extract to the end',
      "resource.name.extract('/objects/{name}') == 'runs/r1/log.txt'",
      bucketObject(BUCKET, 'runs/r1/log.txt'),
      true,
    ],
    [
      'extract without a match is empty',
      "resource.name.extract('/secrets/{s}') == ''",
      bucketObject(BUCKET, 'a'),
      true,
    ],
    [
      'extract then startsWith',
      "resource.name.extract('/objects/{o}').startsWith('runs/')",
      bucketObject(BUCKET, 'runs/x'),
      true,
    ],
    ['resource.type', "resource.type == 'storage.googleapis.com/Object'", bucketObject(BUCKET, 'a'), true],
    [
      'resource.type of a bucket',
      "resource.type == 'storage.googleapis.com/Object'",
      bucketResource(BUCKET),
      false,
    ],
    ['resource.service', "resource.service == 'compute.googleapis.com'", gcemInstance('x'), true],
    ['!=', "resource.service != 'compute.googleapis.com'", gcemInstance('x'), false],
    ['! binds tighter than &&', "!resource.name.endsWith('x') && true", gcemInstance('x'), false],
    ['&& binds tighter than ||', 'true || false && false', gcemInstance('x'), true],
    ['parentheses', '(true || false) && false', gcemInstance('x'), false],
    ['double quotes and escapes', 'resource.name.endsWith("it\\\'s")', bucketObject(BUCKET, "it's"), true],
    [
      'a kind without resource attributes sees empty ones',
      "resource.type != 'compute.googleapis.com/Instance' || resource.name.startsWith('projects/x/')",
      computeResource(PROJECT, `zones/${ZONE}/operations/op-1`),
      true,
    ],
    [
      'a kind without resource attributes matches no name',
      `resource.name.startsWith('projects/${PROJECT}/')`,
      serviceAccountResource(VM),
      false,
    ],
    [
      'the list prefix of an objects.list call',
      `api.getAttribute('${OBJECT_LIST_PREFIX}', '').startsWith('runs/r1/')`,
      objectListResource(BUCKET, 'runs/r1/experiments/'),
      true,
    ],
    [
      'the list prefix defaults on other calls',
      `api.getAttribute('${OBJECT_LIST_PREFIX}', 'none') == 'none'`,
      bucketObject(BUCKET, 'runs/r1/x'),
      true,
    ],
  ];
  for (const [name, expression, resource, expected] of cases) {
    it(name, () => assert.equal(evaluateCondition(expression, resource), expected));
  }

  const refused: [string, RegExp][] = [
    ["request.time < timestamp('2030-01-01T00:00:00Z')", /unsupported attribute request/],
    ["resource.name.matches('a.*')", /unsupported function matches/],
    ['resource.labels', /unsupported attribute resource.labels/],
    ["resource.name == 'a", /unterminated string/],
    ['resource.name', /must be a bool/],
    ['resource.name == true', /cannot compare a string with a bool/],
    ["resource.name.startsWith('a') && 'b'", /right side of && must be a bool/],
    ["resource.name.startsWith('a'", /expected "\)"/],
    ['resource.name.size() > 3', /unsupported function size/],
  ];
  for (const [expression, message] of refused) {
    it(`refuses ${expression}`, () => assert.throws(() => compileCondition(expression), message));
  }
});

describe('IamModel.check', () => {
  const base = () => {
    const model = new IamModel({ projects: [{ id: PROJECT, number: NUMBER }] });
    model.setBucketProject(BUCKET, PROJECT);
    return model;
  };

  it('denies by default', () => {
    const decision = base().check(launcher, 'storage.objects.get', objectResource(BUCKET, 'a'));
    assert.equal(decision.allowed, false);
    assert.equal(
      decision.reason,
      `serviceAccount:${LAUNCHER} lacks storage.objects.get on projects/_/buckets/${BUCKET}/objects/a: no binding on projects/_/buckets/${BUCKET}, projects/${PROJECT} grants it`,
    );
  });

  it('refuses to decide on a permission it does not model', () => {
    assert.throws(
      () => base().check(launcher, 'compute.instances.osAdminLogin', instanceResource(PROJECT, ZONE, 'x')),
      /not modelled/,
    );
  });

  it('applies a project binding to the project and everything in it', () => {
    const model = base();
    model.grant(`projects/${PROJECT}`, `serviceAccount:${LAUNCHER}`, 'roles/storage.objectViewer');
    const cases: [IamResource | string, boolean][] = [
      [objectResource(BUCKET, 'a'), true],
      [`projects/_/buckets/${BUCKET}/objects/a`, true],
      [objectResource('someone-elses', 'a'), false],
    ];
    for (const [resource, expected] of cases) {
      assert.equal(
        model.check(launcher, 'storage.objects.get', resource).allowed,
        expected,
        JSON.stringify(resource),
      );
    }
    const allowed = model.check(launcher, 'storage.objects.get', objectResource(BUCKET, 'a'));
    assert.deepEqual(allowed.allowed && allowed.grant, {
      resource: `projects/${PROJECT}`,
      member: `serviceAccount:${LAUNCHER}`,
      role: 'roles/storage.objectViewer',
    });
  });

  it('applies a bucket binding to that bucket and its objects only', () => {
    const model = base();
    model.grant(`projects/_/buckets/${BUCKET}`, `serviceAccount:${VM}`, 'roles/storage.objectCreator');
    const cases: [string, IamResource, boolean][] = [
      ['storage.objects.create', objectResource(BUCKET, 'runs/r1/x'), true],
      ['storage.objects.create', objectResource(`${BUCKET}-2`, 'runs/r1/x'), false],
      ['storage.objects.create', objectResource(`${BUCKET}.old`, 'x'), false],
      ['storage.objects.delete', objectResource(BUCKET, 'runs/r1/x'), false],
      ['storage.objects.get', objectResource(BUCKET, 'runs/r1/x'), false],
    ];
    for (const [permission, resource, expected] of cases) {
      assert.equal(model.check(vm, permission, resource).allowed, expected, `${permission} ${resource.name}`);
    }
  });

  it('grants by condition, and says which condition did not hold', () => {
    const model = base();
    const prefix = `projects/_/buckets/${BUCKET}/objects/runs/r1/experiments/e1/`;
    model.grant(`projects/_/buckets/${BUCKET}`, `serviceAccount:${VM}`, 'roles/storage.objectUser', {
      expression: `resource.name.startsWith('${prefix}')`,
      title: 'own experiment',
    });
    const mine = model.check(
      vm,
      'storage.objects.create',
      objectResource(BUCKET, 'runs/r1/experiments/e1/status.json'),
    );
    assert.deepEqual(
      [mine.allowed, mine.reason],
      [
        true,
        `serviceAccount:${VM} has roles/storage.objectUser on projects/_/buckets/${BUCKET} under condition "own experiment"`,
      ],
    );
    const sibling = model.check(
      vm,
      'storage.objects.create',
      objectResource(BUCKET, 'runs/r1/experiments/e10/status.json'),
    );
    assert.equal(sibling.allowed, false);
    assert.match(
      sibling.reason,
      /its conditions do not hold: roles\/storage\.objectUser on projects\/_\/buckets\/bed-results for serviceAccount:gce-matrix-vm@bed-project\.iam\.gserviceaccount\.com only when resource\.name\.startsWith/,
    );
  });

  it('cannot grant a listing by object prefix, as Cloud Storage documents; the list prefix attribute can', () => {
    const model = base();
    const prefix = 'runs/r1/experiments/e1/';
    model.grant(`projects/_/buckets/${BUCKET}`, `serviceAccount:${VM}`, 'roles/storage.objectViewer', {
      expression: `resource.name.startsWith('projects/_/buckets/${BUCKET}/objects/${prefix}')`,
      title: 'own experiment',
    });
    assert.equal(
      model.check(vm, 'storage.objects.get', objectResource(BUCKET, `${prefix}status.json`)).allowed,
      true,
    );
    assert.equal(model.check(vm, 'storage.objects.list', objectListResource(BUCKET, prefix)).allowed, false);
    assert.equal(model.check(vm, 'storage.objects.list', `projects/_/buckets/${BUCKET}`).allowed, false);

    model.grant(`projects/_/buckets/${BUCKET}`, `serviceAccount:${VM}`, 'roles/storage.objectViewer', {
      expression: `api.getAttribute('${OBJECT_LIST_PREFIX}', '').startsWith('${prefix}')`,
      title: 'list own experiment',
    });
    const cases: [string, boolean][] = [
      [prefix, true],
      [`${prefix}attempts/`, true],
      ['runs/r1/experiments/e10/', false],
      ['runs/r1/experiments/e1', false],
      ['', false],
    ];
    for (const [listPrefix, expected] of cases) {
      assert.equal(
        model.check(vm, 'storage.objects.list', objectListResource(BUCKET, listPrefix)).allowed,
        expected,
        listPrefix,
      );
    }
  });

  it('names secrets by project number, whichever way the binding or the call spells the project', () => {
    const model = base();
    model.grant(
      `projects/${PROJECT}/secrets/api-key`,
      `serviceAccount:${VM}`,
      'roles/secretmanager.secretAccessor',
    );
    model.grant(`projects/${PROJECT}`, `serviceAccount:${LAUNCHER}`, 'roles/secretmanager.secretAccessor', {
      expression: `resource.name.startsWith('projects/${NUMBER}/secrets/launcher-')`,
      title: 'launcher secrets',
    });
    assert.deepEqual(model.grantsOn(`projects/${NUMBER}/secrets/api-key`), [
      {
        resource: `projects/${NUMBER}/secrets/api-key`,
        member: `serviceAccount:${VM}`,
        role: 'roles/secretmanager.secretAccessor',
      },
    ]);
    const cases: [Caller, string, boolean][] = [
      [vm, `projects/${PROJECT}/secrets/api-key/versions/latest`, true],
      [vm, `projects/${NUMBER}/secrets/api-key/versions/3`, true],
      [vm, `projects/${PROJECT}/secrets/api-key-2/versions/1`, false],
      [launcher, `projects/${PROJECT}/secrets/api-key/versions/1`, false],
      [launcher, `projects/${PROJECT}/secrets/launcher-token/versions/1`, true],
      [launcher, secretVersionResource(NUMBER, 'launcher-token', '1').name, true],
    ];
    for (const [caller, name, expected] of cases) {
      assert.equal(
        model.check(caller, 'secretmanager.versions.access', name).allowed,
        expected,
        `${caller.subject} ${name}`,
      );
    }
  });

  it('decides impersonation on the service account, and on its project', () => {
    const model = base();
    model.grant(
      `projects/-/serviceAccounts/${LAUNCHER}`,
      `principalSet://iam.googleapis.com/${POOL}/attribute.repository_id/${REPO_ID}`,
      'roles/iam.workloadIdentityUser',
    );
    model.grant(
      `projects/${PROJECT}/serviceAccounts/${VM}`,
      `serviceAccount:${LAUNCHER}`,
      'roles/iam.serviceAccountUser',
    );
    const otherRepo = federated('repo:octo-org/fork:ref:refs/heads/main', {
      repository: 'octo-org/octo-repo',
      repository_id: '7',
    });
    const cases: [Caller, string, string, boolean][] = [
      [workflow, 'iam.serviceAccounts.getAccessToken', LAUNCHER, true],
      [workflow, 'iam.serviceAccounts.getAccessToken', VM, false],
      [otherRepo, 'iam.serviceAccounts.getAccessToken', LAUNCHER, false],
      [workflow, 'iam.serviceAccounts.actAs', LAUNCHER, false],
      [launcher, 'iam.serviceAccounts.actAs', VM, true],
      [launcher, 'iam.serviceAccounts.getAccessToken', VM, false],
      [vm, 'iam.serviceAccounts.actAs', VM, false],
    ];
    for (const [caller, permission, email, expected] of cases) {
      assert.equal(
        model.check(caller, permission, serviceAccountResource(email)).allowed,
        expected,
        `${caller.subject} ${permission} ${email}`,
      );
    }
    model.grant(`projects/${PROJECT}`, `serviceAccount:${VM}`, 'roles/iam.serviceAccountUser');
    assert.equal(
      model.check(vm, 'iam.serviceAccounts.actAs', serviceAccountResource(LAUNCHER)).allowed,
      true,
    );
  });

  it('applies an instance binding to that instance only', () => {
    const model = base();
    model.addCustomRole(`projects/${PROJECT}/roles/selfDelete`, [
      'compute.instances.delete',
      'compute.instances.get',
    ]);
    model.grant(
      `projects/${PROJECT}/zones/${ZONE}/instances/gcem-run1-e1-a1`,
      `serviceAccount:${VM}`,
      `projects/${PROJECT}/roles/selfDelete`,
    );
    const cases: [string, string, boolean][] = [
      ['compute.instances.delete', 'gcem-run1-e1-a1', true],
      ['compute.instances.get', 'gcem-run1-e1-a1', true],
      ['compute.instances.delete', 'gcem-run1-e1-a10', false],
      ['compute.instances.setMetadata', 'gcem-run1-e1-a1', false],
    ];
    for (const [permission, name, expected] of cases) {
      assert.equal(
        model.check(vm, permission, instanceResource(PROJECT, ZONE, name)).allowed,
        expected,
        `${permission} ${name}`,
      );
    }
    assert.equal(
      model.check(
        vm,
        'compute.instances.delete',
        `projects/${NUMBER}/zones/${ZONE}/instances/gcem-run1-e1-a1`,
      ).allowed,
      true,
    );
  });

  it('lets allUsers in without credentials, and revokes', () => {
    const model = base();
    model.grant('projects/debian-cloud', 'allAuthenticatedUsers', 'roles/compute.imageUser');
    const image = resourceFromName('projects/debian-cloud/global/images/family/debian-12');
    assert.equal(model.check(launcher, 'compute.images.useReadOnly', image).allowed, true);
    assert.equal(model.check(undefined, 'compute.images.useReadOnly', image).allowed, false);
    model.grant(`projects/_/buckets/${BUCKET}`, 'allUsers', 'roles/storage.objectViewer');
    assert.equal(model.check(undefined, 'storage.objects.get', objectResource(BUCKET, 'a')).allowed, true);
    assert.equal(
      model.revoke(`projects/_/buckets/${BUCKET}`, 'allUsers', 'roles/storage.objectViewer'),
      true,
    );
    assert.equal(model.check(undefined, 'storage.objects.get', objectResource(BUCKET, 'a')).allowed, false);
    assert.equal(
      model.revoke(`projects/_/buckets/${BUCKET}`, 'allUsers', 'roles/storage.objectViewer'),
      false,
    );
  });

  it('refuses grants it cannot honour', () => {
    const model = base();
    assert.throws(
      () => model.grant(`projects/_/buckets/${BUCKET}/objects/a`, 'allUsers', 'roles/storage.objectViewer'),
      /holds no policy/,
    );
    assert.throws(
      () => model.grant(`projects/${PROJECT}`, 'group:g@example.com', 'roles/compute.viewer'),
      /not one this model can match/,
    );
    assert.throws(
      () => model.grant(`projects/${PROJECT}`, `serviceAccount:${VM}`, 'roles/owner'),
      /basic role/,
    );
    assert.throws(
      () =>
        model.grant(
          'projects/unknown/secrets/s',
          `serviceAccount:${VM}`,
          'roles/secretmanager.secretAccessor',
        ),
      /number is unknown/,
    );
    assert.throws(
      () =>
        model.grant(`projects/${PROJECT}`, `serviceAccount:${VM}`, 'roles/compute.viewer', {
          expression: 'request.time > 0',
          title: 't',
        }),
      /unsupported attribute request/,
    );
  });
});

describe("Google's refusals", () => {
  it('Cloud Storage: 403 naming the caller and the kind of resource, 401 without credentials', () => {
    const message = `${LAUNCHER} does not have storage.objects.create access to the Google Cloud Storage object. Permission 'storage.objects.create' denied on resource (or it may not exist).`;
    assert.deepEqual(
      storageDenied(launcher, 'storage.objects.create', `projects/_/buckets/${BUCKET}/objects/a`),
      {
        status: 403,
        headers: {},
        body: { error: { code: 403, message, errors: [{ domain: 'global', reason: 'forbidden', message }] } },
      },
    );
    const list = storageDenied(vm, 'storage.objects.list', `projects/_/buckets/${BUCKET}`);
    assert.equal(
      (list.body as { error: { message: string } }).error.message,
      `${VM} does not have storage.objects.list access to the Google Cloud Storage bucket. Permission 'storage.objects.list' denied on resource (or it may not exist).`,
    );
    const anonymous = storageDenied(
      undefined,
      'storage.objects.get',
      `projects/_/buckets/${BUCKET}/objects/a`,
    );
    assert.equal(anonymous.status, 401);
    assert.match(
      JSON.stringify(anonymous.body),
      /Anonymous caller does not have storage\.objects\.get access/,
    );
  });

  it('Compute Engine: 403 forbidden, one errors entry per missing permission', () => {
    const instance = `projects/${PROJECT}/zones/${ZONE}/instances/gcem-x`;
    assert.deepEqual(computeDenied([{ permission: 'compute.instances.delete', resourceName: instance }]), {
      status: 403,
      headers: {},
      body: {
        error: {
          code: 403,
          message: `Required 'compute.instances.delete' permission for '${instance}'`,
          errors: [
            {
              message: `Required 'compute.instances.delete' permission for '${instance}'`,
              domain: 'global',
              reason: 'forbidden',
            },
          ],
        },
      },
    });
    const two = computeDenied([
      { permission: 'compute.instances.create', resourceName: instance },
      { permission: 'compute.disks.create', resourceName: `projects/${PROJECT}/zones/${ZONE}/disks/gcem-x` },
    ]).body as { error: { message: string; errors: { message: string }[] } };
    assert.equal(two.error.message, `Required 'compute.instances.create' permission for '${instance}'`);
    assert.equal(two.error.errors.length, 2);
    assert.throws(() => computeDenied([]), /at least one/);
    assert.deepEqual(computeServiceAccountAccessDenied(VM, launcher), {
      code: 'SERVICE_ACCOUNT_ACCESS_DENIED',
      message: `The user does not have access to service account '${VM}'.  User: '${LAUNCHER}'.  Ask a project owner to grant you the iam.serviceAccountUser role on the service account`,
      httpStatus: 400,
      httpMessage: 'BAD REQUEST',
    });
  });

  it('Secret Manager: 403 PERMISSION_DENIED naming the resource as requested', () => {
    const name = `projects/${PROJECT}/secrets/api-key/versions/latest`;
    assert.deepEqual(secretManagerDenied('secretmanager.versions.access', name), {
      status: 403,
      headers: {},
      body: {
        error: {
          code: 403,
          message: `Permission 'secretmanager.versions.access' denied for resource '${name}' (or it may not exist).`,
          status: 'PERMISSION_DENIED',
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'IAM_PERMISSION_DENIED',
              domain: 'secretmanager.googleapis.com',
              metadata: { permission: 'secretmanager.versions.access', resource: name },
            },
          ],
        },
      },
    });
  });

  it('IAM Credentials: 403 PERMISSION_DENIED naming no resource', () => {
    assert.deepEqual(iamCredentialsDenied('iam.serviceAccounts.getAccessToken'), {
      status: 403,
      headers: {},
      body: {
        error: {
          code: 403,
          message:
            "Permission 'iam.serviceAccounts.getAccessToken' denied on resource (or it may not exist).",
          status: 'PERMISSION_DENIED',
          details: [
            {
              '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
              reason: 'IAM_PERMISSION_DENIED',
              domain: 'iam.googleapis.com',
              metadata: { permission: 'iam.serviceAccounts.getAccessToken' },
            },
          ],
        },
      },
    });
  });
});

describe('instanceInsertPermissions', () => {
  const settings = parseLaunchInputs(
    (name) =>
      ({
        zones: ZONE,
        bucket: `gs://${BUCKET}/`,
        'vm-service-account': VM,
        experiment: '{"id":"e1","params":{"seed":1}}',
        command: './run.sh',
        labels: 'team=bench',
      })[name] ?? '',
    {
      runId: '7001',
      runAttempt: 1,
      repository: 'octo-org/octo-repo',
      sha: 'abc123',
      defaultProject: PROJECT,
    },
  );
  const instance = buildInstance(settings, {
    name: 'gcem-7001-e1-a1',
    zone: ZONE,
    attempt: 1,
    spot: false,
    agentScript: 'echo',
  });

  it('lists what Compute Engine checks for the instance launch builds', () => {
    const self = `projects/${PROJECT}/zones/${ZONE}/instances/gcem-7001-e1-a1`;
    const image = 'projects/debian-cloud/global/images/family/debian-12';
    assert.deepEqual(
      instanceInsertPermissions(PROJECT, ZONE, instance).map((r) => [
        r.permission,
        r.resource.name,
        r.failsIn,
      ]),
      [
        ['compute.instances.create', self, 'request'],
        ['compute.disks.create', `projects/${PROJECT}/zones/${ZONE}/disks/gcem-7001-e1-a1`, 'request'],
        ['compute.images.useReadOnly', image, 'request'],
        ['compute.subnetworks.use', `projects/${PROJECT}/regions/us-central1/subnetworks/default`, 'request'],
        [
          'compute.subnetworks.useExternalIp',
          `projects/${PROJECT}/regions/us-central1/subnetworks/default`,
          'request',
        ],
        ['compute.instances.setMetadata', self, 'request'],
        ['compute.instances.setLabels', self, 'request'],
        ['compute.instances.setServiceAccount', self, 'request'],
        ['iam.serviceAccounts.actAs', `projects/-/serviceAccounts/${VM}`, 'operation'],
      ],
    );
  });

  it('follows named subnetworks, attached disks, tags and no external address', () => {
    const needs = instanceInsertPermissions(PROJECT, 'europe-west4-b', {
      name: 'vm',
      disks: [{ boot: true, source: 'zones/europe-west4-b/disks/boot' }],
      networkInterfaces: [
        {
          subnetwork:
            'https://compute.googleapis.com/compute/v1/projects/net-host/regions/europe-west4/subnetworks/lab',
        },
      ],
      tags: { items: ['ssh'] },
    });
    assert.deepEqual(
      needs.map((r) => [r.permission, r.resource.name]),
      [
        ['compute.instances.create', `projects/${PROJECT}/zones/europe-west4-b/instances/vm`],
        ['compute.disks.use', `projects/${PROJECT}/zones/europe-west4-b/disks/boot`],
        ['compute.subnetworks.use', 'projects/net-host/regions/europe-west4/subnetworks/lab'],
        ['compute.instances.setTags', `projects/${PROJECT}/zones/europe-west4-b/instances/vm`],
      ],
    );
  });
});

describe('setup description', () => {
  const values = {
    PROJECT,
    PREFIX: 'gce-matrix',
    REPO: 'octo-org/octo-repo',
    BUCKET,
    REGION: 'us-central1',
    NUMBER,
    REPO_ID,
  };
  const readme = readFileSync(path.join(root, 'README.md'), 'utf8');

  it("reads exactly the README's setup", () => {
    const steps = parseReadmeSetup(readme, values);
    assert.deepEqual(steps.skipped, []);
    const summary = steps.steps.map((step) => {
      const { kind } = step;
      if (kind === 'custom-role') return `${kind} ${step.roleId}: ${step.permissions.length} permissions`;
      if ('member' in step) {
        const on =
          kind === 'project-binding'
            ? step.project
            : kind === 'bucket-binding'
              ? step.bucket
              : kind === 'secret-binding'
                ? step.secret
                : kind === 'service-account-binding'
                  ? step.serviceAccount
                  : step.instance;
        return `${kind} ${on} ${step.member} ${step.role}${step.condition ? ` if "${step.condition.title}"` : ''}`;
      }
      return kind;
    });
    assert.deepEqual(summary, [
      'workload-identity-pool',
      'workload-identity-provider',
      'service-account',
      'service-account',
      `service-account-binding ${LAUNCHER} principalSet://iam.googleapis.com/${POOL}/attribute.repository_id/${REPO_ID} roles/iam.workloadIdentityUser`,
      'custom-role gceMatrixLauncher: 18 permissions',
      `project-binding ${PROJECT} serviceAccount:${LAUNCHER} projects/${PROJECT}/roles/gceMatrixLauncher if "gce-matrix VMs only"`,
      `service-account-binding ${VM} serviceAccount:${LAUNCHER} roles/iam.serviceAccountUser`,
      'custom-role gceMatrixSelfDelete: 1 permissions',
      `secret-binding api-key serviceAccount:${VM} roles/secretmanager.secretAccessor`,
      'bucket',
      `bucket-binding ${BUCKET} serviceAccount:${LAUNCHER} roles/storage.objectUser`,
      `bucket-binding ${BUCKET} serviceAccount:${VM} roles/storage.objectViewer if "gce-matrix source snapshots"`,
      `bucket-binding ${BUCKET} serviceAccount:${VM} roles/storage.objectUser if "gce-matrix experiment results"`,
    ]);
    const provider = steps.steps.find((step) => step.kind === 'workload-identity-provider');
    assert.deepEqual(
      provider && provider.attributeCondition,
      `assertion.repository_id == '${REPO_ID}' && assertion.repository == 'octo-org/octo-repo'`,
    );
  });

  it('gives the grants the README recommends, no more and no less', () => {
    const { steps } = parseReadmeSetup(readme, values);
    const model = applySetup(new IamModel({ projects: [{ id: PROJECT, number: NUMBER }] }), steps);
    const other = sa(`someone@${PROJECT}.iam.gserviceaccount.com`);
    const ownVm = instanceResource(PROJECT, ZONE, 'gcem-7001-e1-a1');
    const otherVm = instanceResource(PROJECT, ZONE, 'gcem-7002-other-a1');
    const foreignVm = instanceResource(PROJECT, ZONE, 'database-1');
    // What launch does once the VM exists: the self-delete role on that VM alone.
    model.grant(ownVm.name, `serviceAccount:${VM}`, `projects/${PROJECT}/roles/gceMatrixSelfDelete`);
    const runs = 'gce-matrix/runs/7001/';
    const cases: [string, Caller, string, IamResource, boolean][] = [
      [
        'the workflow becomes the launcher',
        workflow,
        'iam.serviceAccounts.getAccessToken',
        serviceAccountResource(LAUNCHER),
        true,
      ],
      [
        'the workflow cannot become the VM account',
        workflow,
        'iam.serviceAccounts.getAccessToken',
        serviceAccountResource(VM),
        false,
      ],
      ['the launcher creates gce-matrix VMs', launcher, 'compute.instances.create', ownVm, true],
      ['the launcher creates no other VM', launcher, 'compute.instances.create', foreignVm, false],
      ['the launcher deletes gce-matrix VMs', launcher, 'compute.instances.delete', otherVm, true],
      ['the launcher deletes no other VM', launcher, 'compute.instances.delete', foreignVm, false],
      [
        'the launcher binds the self-delete role on its VMs',
        launcher,
        'compute.instances.setIamPolicy',
        ownVm,
        true,
      ],
      [
        'the launcher binds nothing on other VMs',
        launcher,
        'compute.instances.setIamPolicy',
        foreignVm,
        false,
      ],
      [
        'the launcher lists VMs (the janitor, the watcher)',
        launcher,
        'compute.instances.list',
        projectResource(PROJECT),
        true,
      ],
      [
        'the launcher attaches the VM account',
        launcher,
        'iam.serviceAccounts.actAs',
        serviceAccountResource(VM),
        true,
      ],
      [
        'the launcher cannot mint the VM account tokens',
        launcher,
        'iam.serviceAccounts.getAccessToken',
        serviceAccountResource(VM),
        false,
      ],
      [
        'the launcher waits on operations',
        launcher,
        'compute.zoneOperations.get',
        computeResource(PROJECT, `zones/${ZONE}/operations/op-1`),
        true,
      ],
      [
        'the launcher writes run records',
        launcher,
        'storage.objects.create',
        objectResource(BUCKET, `${runs}run.json`),
        true,
      ],
      [
        'the launcher lists the bucket',
        launcher,
        'storage.objects.list',
        objectListResource(BUCKET, runs),
        true,
      ],
      [
        'the launcher cannot read the secret',
        launcher,
        'secretmanager.versions.access',
        secretVersionResource(NUMBER, 'api-key', 'latest'),
        false,
      ],
      [
        'the launcher cannot read bucket metadata',
        launcher,
        'storage.buckets.get',
        bucketResource(BUCKET),
        false,
      ],
      [
        'the launcher cannot create buckets',
        launcher,
        'storage.buckets.create',
        projectResource(PROJECT),
        false,
      ],
      ['the VM deletes its own VM', vm, 'compute.instances.delete', ownVm, true],
      ['the VM deletes no other VM', vm, 'compute.instances.delete', otherVm, false],
      ['the VM creates no VM', vm, 'compute.instances.create', otherVm, false],
      [
        'the VM reads its secret',
        vm,
        'secretmanager.versions.access',
        secretVersionResource(NUMBER, 'api-key', 'latest'),
        true,
      ],
      [
        'the VM reads no other secret',
        vm,
        'secretmanager.versions.access',
        secretVersionResource(NUMBER, 'db-password', '1'),
        false,
      ],
      [
        'the VM writes results',
        vm,
        'storage.objects.create',
        objectResource(BUCKET, `${runs}experiments/e1/status.json`),
        true,
      ],
      [
        'the VM replaces its heartbeat',
        vm,
        'storage.objects.delete',
        objectResource(BUCKET, `${runs}experiments/e1/attempts/1/heartbeat.json`),
        true,
      ],
      [
        'the VM lists below an experiment',
        vm,
        'storage.objects.list',
        objectListResource(BUCKET, `${runs}experiments/e1/checkpoint/`),
        true,
      ],
      [
        'the VM lists no run',
        vm,
        'storage.objects.list',
        objectListResource(BUCKET, `${runs}experiments/`),
        false,
      ],
      [
        'the VM reads the source snapshot',
        vm,
        'storage.objects.get',
        objectResource(BUCKET, `${runs}source/commit-abc.json`),
        true,
      ],
      [
        'the VM writes no source snapshot',
        vm,
        'storage.objects.create',
        objectResource(BUCKET, `${runs}source/commit-abc.json`),
        false,
      ],
      [
        'the VM overwrites no baseline',
        vm,
        'storage.objects.create',
        objectResource(BUCKET, 'gce-matrix/baselines/main/latest.json'),
        false,
      ],
      [
        'the VM deletes no run record',
        vm,
        'storage.objects.delete',
        objectResource(BUCKET, `${runs}run.json`),
        false,
      ],
      [
        'the VM plants no run record',
        vm,
        'storage.objects.create',
        objectResource(BUCKET, 'gce-matrix/runs/7003/run.json'),
        false,
      ],
      [
        'the VM cannot act as the launcher',
        vm,
        'iam.serviceAccounts.actAs',
        serviceAccountResource(LAUNCHER),
        false,
      ],
      [
        'nobody else reads the results',
        other,
        'storage.objects.get',
        objectResource(BUCKET, `${runs}run.json`),
        false,
      ],
      ['nobody else deletes VMs', other, 'compute.instances.delete', otherVm, false],
    ];
    for (const [name, caller, permission, resource, expected] of cases) {
      const decision = model.check(caller, permission, resource);
      assert.equal(decision.allowed, expected, `${name}: ${decision.reason}`);
    }
    // Everything the launcher's insert of a launch-built instance needs, bar the public image, which Google
    // grants to every authenticated caller on its own image project, outside the README.
    const settings = parseLaunchInputs(
      (n) =>
        ({
          zones: ZONE,
          bucket: `gs://${BUCKET}`,
          'vm-service-account': VM,
          experiment: '{"id":"e1","params":{}}',
          command: 'true',
        })[n] ?? '',
      { runId: '7001', runAttempt: 1, repository: 'octo-org/octo-repo', sha: 'abc', defaultProject: PROJECT },
    );
    const insert = buildInstance(settings, {
      name: 'gcem-7001-e1-a1',
      zone: ZONE,
      attempt: 1,
      spot: true,
      agentScript: 'echo',
    });
    const refused = instanceInsertPermissions(PROJECT, ZONE, insert)
      .filter((r) => !model.check(launcher, r.permission, r.resource).allowed)
      .map((r) => `${r.permission} ${r.resource.name}`);
    assert.deepEqual(refused, [
      'compute.images.useReadOnly projects/debian-cloud/global/images/family/debian-12',
    ]);
  });

  const script = (body: string) => `PROJECT=p NUMBER=1\n${body}\n`;
  it('reads conditions, loops on one line and gcloud release tracks', () => {
    const parsed = parseSetupScript(
      script(
        [
          `for who in a b; do gcloud beta projects add-iam-policy-binding "$PROJECT" --member="serviceAccount:$who@$PROJECT.iam.gserviceaccount.com" --role roles/compute.viewer; done`,
          `gcloud storage buckets add-iam-policy-binding gs://bkt/ --member=serviceAccount:vm@p.iam.gserviceaccount.com \\`,
          `  --role=roles/storage.objectUser --condition='^;^expression=resource.name.startsWith("projects/_/buckets/bkt/objects/runs/") || api.getAttribute("${OBJECT_LIST_PREFIX}", "").startsWith("runs/");title=runs;description=own, prefix'`,
          `gcloud iam roles create selfDelete --project="$PROJECT" --permissions=compute.instances.delete,compute.instances.get --title="Self delete"`,
          `gcloud compute instances add-iam-policy-binding gcem-1 --zone=us-central1-a --project=$PROJECT --member=serviceAccount:vm@p.iam.gserviceaccount.com --role=projects/p/roles/selfDelete --condition=None`,
          `gcloud secrets add-iam-policy-binding projects/p/secrets/token --member=user:ada@example.com --role=roles/secretmanager.secretAccessor`,
          `gh api user  # not a gcloud command`,
        ].join('\n'),
      ),
      { PROJECT: 'p' },
    );
    assert.deepEqual(parsed, {
      steps: [
        {
          kind: 'project-binding',
          project: 'p',
          member: 'serviceAccount:a@p.iam.gserviceaccount.com',
          role: 'roles/compute.viewer',
        },
        {
          kind: 'project-binding',
          project: 'p',
          member: 'serviceAccount:b@p.iam.gserviceaccount.com',
          role: 'roles/compute.viewer',
        },
        {
          kind: 'bucket-binding',
          bucket: 'bkt',
          member: 'serviceAccount:vm@p.iam.gserviceaccount.com',
          role: 'roles/storage.objectUser',
          condition: {
            expression: `resource.name.startsWith("projects/_/buckets/bkt/objects/runs/") || api.getAttribute("${OBJECT_LIST_PREFIX}", "").startsWith("runs/")`,
            title: 'runs',
            description: 'own, prefix',
          },
        },
        {
          kind: 'custom-role',
          project: 'p',
          roleId: 'selfDelete',
          permissions: ['compute.instances.delete', 'compute.instances.get'],
        },
        {
          kind: 'instance-binding',
          project: 'p',
          zone: 'us-central1-a',
          instance: 'gcem-1',
          member: 'serviceAccount:vm@p.iam.gserviceaccount.com',
          role: 'projects/p/roles/selfDelete',
        },
        {
          kind: 'secret-binding',
          project: 'p',
          secret: 'token',
          member: 'user:ada@example.com',
          role: 'roles/secretmanager.secretAccessor',
        },
      ],
      skipped: ['gh api user'],
    });
    const model = applySetup(new IamModel({ projects: [{ id: 'p', number: '1' }] }), parsed.steps);
    const vmCaller = sa('vm@p.iam.gserviceaccount.com');
    assert.equal(
      model.check(vmCaller, 'compute.instances.delete', instanceResource('p', 'us-central1-a', 'gcem-1'))
        .allowed,
      true,
    );
    assert.equal(
      model.check(vmCaller, 'compute.instances.delete', instanceResource('p', 'us-central1-a', 'gcem-2'))
        .allowed,
      false,
    );
    assert.equal(
      model.check(vmCaller, 'storage.objects.list', objectListResource('bkt', 'runs/')).allowed,
      true,
    );
    assert.equal(
      model.check(vmCaller, 'storage.objects.list', objectListResource('bkt', 'baselines/')).allowed,
      false,
    );
    assert.equal(
      model.check(
        user('ada@example.com'),
        'secretmanager.versions.access',
        'projects/1/secrets/token/versions/2',
      ).allowed,
      true,
    );
  });

  const refused: [string, string, RegExp][] = [
    ['a pipe', 'gcloud projects list | head', /line 2: shell syntax "\|" is not supported/],
    ['&&', 'true && gcloud projects list', /line 2: shell syntax "&"/],
    ['a conditional', 'if true; then echo; fi', /line 2: "if" is not supported/],
    [
      'a variable set from a command',
      'ID=$(gh api repos/o/r --jq .id)',
      /line 2: ID is set from a command's output; pass its value/,
    ],
    [
      'an unset variable',
      'gcloud projects add-iam-policy-binding "$OTHER" --member=allUsers --role=roles/compute.viewer',
      /line 2: \$OTHER is not set/,
    ],
    ['a missing role', 'gcloud projects add-iam-policy-binding p --member=allUsers', /needs --role/],
    [
      'an unknown flag',
      'gcloud projects add-iam-policy-binding p --member=allUsers --role=roles/compute.viewer --condition-from-file=c.yaml',
      /--condition-from-file is not modelled/,
    ],
    [
      'a removal',
      'gcloud projects remove-iam-policy-binding p --member=allUsers --role=roles/compute.viewer',
      /line 2: gcloud projects remove-iam-policy-binding is not modelled/,
    ],
    [
      'a binding on another kind',
      'gcloud run services add-iam-policy-binding svc --member=allUsers --role=roles/run.invoker',
      /line 2: gcloud run services add-iam-policy-binding is not modelled/,
    ],
    [
      'a condition without a title',
      "gcloud projects add-iam-policy-binding p --member=allUsers --role=roles/compute.viewer --condition='expression=true'",
      /needs both expression= and title=/,
    ],
    [
      'a comma inside a condition, which gcloud splits',
      `gcloud projects add-iam-policy-binding p --member=allUsers --role=roles/compute.viewer --condition="expression=api.getAttribute('k', '') == '',title=t"`,
      /is not one gcloud takes \(for values with commas, gcloud takes "\^;\^KEY=VALUE;\.\.\."\)/,
    ],
    ['a loop without done', 'for x in a; do\n  gcloud projects list', /has no "done"/],
    [
      'an unquoted value with a space',
      'X="a b"\ngcloud projects add-iam-policy-binding $X --member=allUsers --role=r',
      /line 3: unquoted \$X holds a space/,
    ],
  ];
  for (const [name, body, message] of refused) {
    it(`refuses ${name}`, () => assert.throws(() => parseSetupScript(script(body)), message));
  }

  it('finds the sh block under "## Set up"', () => {
    assert.equal(
      readmeSetupScript('# T\n## Set up (once)\ntext\n```sh\nA=1\n```\n## Next\n```sh\nB=2\n```\n'),
      'A=1\n',
    );
    assert.throws(() => readmeSetupScript('# T\n## Usage\n```sh\nA=1\n```\n'), /no "## Set up" section/);
    assert.throws(
      () => readmeSetupScript('## Set up\ntext\n## Next\n```sh\nA=1\n```\n'),
      /has no ```sh block/,
    );
  });
});
