import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'node:test';
import { workflowDispatchEvent } from '../bed/events.ts';
import type { SetupStep } from '../bed/iam.ts';
import { startTestBed } from '../bed/index.ts';
import { runStep } from '../bed/step-runner.ts';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const launchDir = path.join(root, 'actions/launch');
const BUCKET = 'grant-results';
const PROJECT = 'bed-project';
const LAUNCHER = `gce-matrix-launcher@${PROJECT}.iam.gserviceaccount.com`;
const VM = `gce-matrix-vm@${PROJECT}.iam.gserviceaccount.com`;

/** A README binding, named as the test names it, and how to find it among the setup's steps. */
interface Case {
  readonly binding: string;
  readonly is: (step: SetupStep) => boolean;
  /** What the failure must name. */
  readonly names: RegExp;
}

const member = (step: SetupStep): string => ('member' in step ? step.member : '');

const CASES: Case[] = [
  {
    binding: 'workload identity user on the launcher',
    is: (s) => s.kind === 'service-account-binding' && s.serviceAccount === LAUNCHER,
    names: /iam\.serviceAccounts\.getAccessToken/,
  },
  {
    binding: "the launcher's gceMatrixLauncher role",
    is: (s) => s.kind === 'project-binding' && s.role.endsWith('/roles/gceMatrixLauncher'),
    names: /Required 'compute\.[a-zA-Z]+\.[a-zA-Z]+' permission/,
  },
  {
    binding: 'service account user on the VM account',
    is: (s) => s.kind === 'service-account-binding' && s.serviceAccount === VM,
    names: /SERVICE_ACCOUNT_ACCESS_DENIED|does not have access to service account/,
  },
  {
    binding: "the launcher's objects in the bucket",
    is: (s) => s.kind === 'bucket-binding' && member(s) === `serviceAccount:${LAUNCHER}`,
    names: /storage\.objects\.[a-z]+/,
  },
  {
    binding: "the VM's experiment objects",
    is: (s) =>
      s.kind === 'bucket-binding' && member(s) === `serviceAccount:${VM}` && s.role.endsWith('objectUser'),
    names: /storage\.objects\.[a-z]+/,
  },
  {
    binding: "the VM's read of the secret",
    is: (s) => s.kind === 'secret-binding',
    names: /secretmanager\.versions\.access/,
  },
];

describe("each grant of the README's setup is needed: without it, a named failure", () => {
  for (const c of CASES) {
    it(`fails without ${c.binding}`, async () => {
      let removed = 0;
      const bed = await startTestBed({
        withoutSetupSteps: (step) => {
          const out = c.is(step);
          if (out) removed += 1;
          return out;
        },
      });
      try {
        bed.storage.createBucket(BUCKET);
        bed.secretManager.addSecret(bed.project, 'api-key', 'k3y-value');
        assert.ok(removed > 0, `no step of the README is ${c.binding}`);
        const r = await runStep({
          actionDir: launchDir,
          event: workflowDispatchEvent({}, { repo: bed.repository }),
          context: { repository: bed.repository, runId: '7400', runAttempt: '1', sha: 'c0ffee' },
          env: bed.env,
          inputs: {
            project: bed.project,
            zones: 'us-central1-a',
            bucket: BUCKET,
            'vm-service-account': bed.vmServiceAccount,
            experiment: JSON.stringify({ id: 'needs', params: {} }),
            command: `printf '{"ok": 1}' > "$GCE_MATRIX_METRICS_FILE"`,
            secrets: 'API_KEY=api-key',
            'heartbeat-seconds': '1',
            'log-interval-seconds': '1',
            'timeout-minutes': '2',
            'max-attempts': '1',
            source: 'none',
          },
        });
        const log = r.jobLog.join('\n');
        assert.equal(r.conclusion, 'failure', log);
        assert.match(log, c.names);
      } finally {
        await bed.close();
      }
    });
  }
});
