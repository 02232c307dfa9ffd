/**
 * The experiment command must not get the VM's credentials. On the test bed that attack is real: a guest reaches
 * its metadata server the way every process of it can (GCE_METADATA_IP, the bed's stand-in for the fixed
 * address of a VM), and only the guest's firewall, as its root set it up with the image's `nft`, refuses a
 * connection, by the uid that owns the client's socket. These tests show the emulation on its own, then the
 * real agent: its rule keeps the command from the token; an agent that forgot the rule would have handed it over.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import type { TestBed } from './index.ts';
import { startTestBed } from './index.ts';
import { bedClients, insertBedVm } from './scenario.ts';
import type { Provenance } from '../../src/layout.ts';

const ZONE = 'us-central1-a';
const BUCKET = 'bed-results';
const RUN = 'r-isolation';
const AGENT = readFileSync(fileURLToPath(new URL('../../src/agent/agent.sh', import.meta.url)), 'utf8');

/** The agent with some of its functions replaced (defined again just before it starts). */
function agentWith(overrides: string): string {
  const start = '\nif [ "$gm_mode" = shutdown ]; then\n';
  assert.ok(AGENT.includes(start), 'the agent ends with its mode dispatch');
  return AGENT.replace(start, `\n${overrides}\n${start}`);
}

/** A command that tries for the VM's token as the command, and for the agent's files; writes what it saw. */
const ATTACK = `out=$GCE_MATRIX_OUTPUT_DIR
id -u > "$out/uid"
echo "$GCE_MATRIX_PARAM_TOOL" > "$out/param"
md="http://$GCE_METADATA_IP/computeMetadata/v1/instance/service-accounts/default/token"
if curl -sS --max-time 10 -H 'Metadata-Flavor: Google' -o "$out/token.json" "$md" 2>"$out/curl.err"; then
  echo reached > "$out/attack"
else
  echo "refused $?" > "$out/attack"
  rm -f "$out/token.json"
fi
try() { if "$@" >/dev/null 2>&1; then echo "$*: allowed"; else echo "$*: denied"; fi; }
{
  try ls /var/tmp/gce-matrix/state
  try cat /var/tmp/gce-matrix/state/attr/gce-matrix-bucket
  try cat /var/tmp/gce-matrix/attempt-1.log
  try cat /proc/$PPID/environ
  try touch /var/tmp/gce-matrix/state/planted
  try kill -0 $PPID
  try nft flush ruleset
} > "$out/agent-files"
true`;

describe("the test bed's guest firewall and the agent's isolation of the command", () => {
  let bed: TestBed;
  let close: () => Promise<void> = async () => {};

  before(async () => {
    bed = await startTestBed();
    bed.storage.createBucket(BUCKET);
  });
  after(async () => {
    await close();
    await bed.close();
  });

  /** Creates instance `name` with these metadata items (as the launcher, with the VM service account). */
  const boot = async (name: string, items: Record<string, string>, sourceImage?: string): Promise<void> => {
    const { clients } = bedClients(bed);
    const closing = close;
    close = async () => {
      await closing();
      await clients.close();
    };
    await insertBedVm(clients, {
      name,
      zone: ZONE,
      serviceAccount: bed.vmServiceAccount,
      metadata: items,
      ...(sourceImage ? { sourceImage } : {}),
    });
  };

  const until = async <T>(what: string, fn: () => T | undefined, ms = 120_000): Promise<T> => {
    const deadline = Date.now() + ms;
    for (;;) {
      const v = fn();
      if (v !== undefined) return v;
      if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  };

  const serial = (name: string) => bed.compute.inspect(name)?.serial ?? '';

  describe('the emulation: a REJECT rule of the guest refuses its uid at the metadata server, and nothing else does', () => {
    const probe = `#!/bin/sh
cat > /tmp/try <<'EOF'
#!/bin/sh
md="http://$GCE_METADATA_IP/computeMetadata/v1/instance/service-accounts/default/token"
if curl -sS -o /dev/null --max-time 5 -H 'Metadata-Flavor: Google' "$md" 2>/dev/null; then echo reached; else echo "refused-$?"; fi
EOF
chmod 755 /tmp/try
useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin probe
uid=$(id -u probe)
as() { setpriv --reuid="$uid" --regid="$(id -g probe)" --clear-groups -- "$@"; }
echo "uid=$uid"
echo "before: root=$(/tmp/try) user=$(as /tmp/try)"
printf 'table inet t {\\n\\tchain out {\\n\\t\\ttype filter hook output priority 0; policy accept;\\n\\t\\tmeta skuid %s ip daddr 127.0.0.1 tcp dport %s reject with tcp reset\\n\\t}\\n}\\n' "$uid" "\${GCE_METADATA_IP##*:}" | nft -f -
echo "nft=$?"
echo "after: root=$(/tmp/try) user=$(as /tmp/try)"
echo "user-nft: $(as nft flush ruleset 2>&1)"
echo "user-kernel: $(as ls /run/bed-kernel >/dev/null 2>&1 && echo readable || echo unreadable)"
echo "host-firewall: $(iptables -L >/dev/null 2>&1 && echo reachable || echo unreachable)"
nft flush ruleset
echo "flushed: user=$(as /tmp/try)"
`;

    it('refuses the rule’s uid only while the rule is there; the guest’s root alone changes it', async () => {
      await Promise.all([
        boot('gcem-fw-probe-a', { 'startup-script': probe }),
        boot('gcem-fw-probe-b', { 'startup-script': probe }),
      ]);
      const outs = await Promise.all(
        ['gcem-fw-probe-a', 'gcem-fw-probe-b'].map((name) =>
          until(`${name}'s script`, () => {
            const out = serial(name);
            return out.includes('startup-script exit status') ? out : undefined;
          }),
        ),
      );
      const said = (out: string, line: RegExp) => assert.match(out, line, out);
      for (const out of outs) {
        said(out, /startup-script: uid=\d{10}$/m);
        said(out, /startup-script: before: root=reached user=reached$/m);
        said(out, /startup-script: nft=0$/m);
        // a reset, as a REJECT with tcp-reset gives: curl cannot connect (7) or loses the connection (52, 55, 56)
        said(out, /startup-script: after: root=reached user=refused-(7|52|55|56)$/m);
        said(out, /startup-script: user-nft: Error: Could not process rule: Operation not permitted$/m);
        said(out, /startup-script: user-kernel: unreadable$/m);
        said(out, /startup-script: host-firewall: unreachable$/m);
        said(out, /startup-script: flushed: user=reached$/m);
      }
      const uids = outs.map((out) => /startup-script: uid=(\d+)$/m.exec(out)?.[1]);
      assert.notEqual(uids[0], uids[1], 'instances share the host kernel: their users never share a uid');
    });
  });

  describe('the real agent', () => {
    /** Boots `id` running `agent` (default: the real one) with `command`; resolves to its status and outputs. */
    const runAgent = async (
      id: string,
      command: string,
      extra: Record<string, string> = {},
      agent = AGENT,
    ): Promise<{
      status: { state: string; reason?: string };
      output: (file: string) => string | undefined;
    }> => {
      const prefix = `gce-matrix/runs/${RUN}/experiments/${id}/`;
      await boot(`gcem-${id}`, {
        'startup-script': `GCE_MATRIX_MODE=startup\n${agent}`,
        'shutdown-script': `GCE_MATRIX_MODE=shutdown\n${agent}`,
        'gce-matrix-bucket': BUCKET,
        'gce-matrix-experiment-prefix': prefix,
        'gce-matrix-run-id': RUN,
        'gce-matrix-experiment': id,
        'gce-matrix-attempt': '1',
        'gce-matrix-command': command,
        'gce-matrix-param-env': 'TOOL=probe',
        'gce-matrix-self-delete': 'false',
        ...extra,
      });
      const text = await until(`the status of ${id}`, () =>
        bed.storage.getObject(BUCKET, `${prefix}status.json`)?.data.toString('utf8'),
      );
      return {
        status: JSON.parse(text) as { state: string; reason?: string },
        output: (file) => bed.storage.getObject(BUCKET, `${prefix}outputs/${file}`)?.data.toString('utf8'),
      };
    };

    it('isolated (the default): the command runs as its own user and cannot reach the token or the agent', async () => {
      const run = await runAgent('iso-default', ATTACK);
      const out = (f: string) => run.output(f)?.trim();
      assert.equal(run.status.state, 'succeeded', run.status.reason);
      assert.ok(
        Number(out('uid')) >= 2_000_000_000,
        `the command ran as the image's new user, not ${out('uid')}`,
      );
      assert.equal(out('param'), 'probe', 'the environment it was given still reaches it');
      assert.match(out('attack') ?? '', /^refused (7|52|55|56)$/, run.output('curl.err'));
      assert.equal(run.output('token.json'), undefined);
      const agentFiles = out('agent-files') ?? '';
      assert.equal(agentFiles.split('\n').length, 7, agentFiles);
      for (const line of agentFiles.split('\n')) assert.match(line, /: denied$/, agentFiles);
    });

    it('command-identity vm: the same user, no rule, and the command gets a live token of the VM', async () => {
      const run = await runAgent('iso-vm', ATTACK, { 'gce-matrix-command-identity': 'vm' });
      assert.equal(run.status.state, 'succeeded', run.status.reason);
      assert.equal(run.output('attack')?.trim(), 'reached');
      const token = (JSON.parse(run.output('token.json') ?? '{}') as { access_token?: string }).access_token;
      assert.equal(bed.tokens.check(`Bearer ${token}`)?.email, bed.vmServiceAccount);
      assert.ok(Number(run.output('uid')) >= 2_000_000_000, 'still not root');
    });

    it('an agent that forgot the rule is stopped by its own check: status error, the command never runs', async () => {
      const forgetful = agentWith('gm_install_firewall() { return 0; }');
      const run = await runAgent('iso-forgot-rule', ATTACK, {}, forgetful);
      assert.equal(run.status.state, 'error');
      assert.equal(
        run.status.reason,
        "the metadata server is still reachable by gce-matrix-run after the firewall rule was installed; not running the command with the VM's credentials in reach",
      );
      assert.equal(run.output('attack'), undefined);
    });

    it('a packed VM: each member runs as its own user, kept from the token and from its neighbour’s files', async () => {
      const prefix = (id: string) => `gce-matrix/runs/${RUN}/experiments/${id}/`;
      const member = (i: number) =>
        `experiment=pk-${i}\nexperiment-prefix=${prefix(`pk-${i}`)}\nattempt=1\nparams={"i":${i}}`;
      const neighbour = `other=/var/tmp/gce-matrix/m/$((3 - GCE_MATRIX_PARAM_I))
{
  try ls "$other/output"
  try ls "$other/work"
  try cat "$other/state/attr/gce-matrix-bucket"
  try touch "$other/output/planted"
} > "$GCE_MATRIX_OUTPUT_DIR/neighbour"
echo "$GCE_MATRIX_CPUS" > "$GCE_MATRIX_OUTPUT_DIR/cpus"`;
      await boot('gcem-packed', {
        'startup-script': `GCE_MATRIX_MODE=startup\n${AGENT}`,
        'shutdown-script': `GCE_MATRIX_MODE=shutdown\n${AGENT}`,
        'gce-matrix-bucket': BUCKET,
        'gce-matrix-experiment-prefix': prefix('pk-1'),
        'gce-matrix-run-id': RUN,
        'gce-matrix-experiment': 'pack-0000000000',
        'gce-matrix-command': `${ATTACK.replace(/\ntrue$/, '')}\n${neighbour}`,
        'gce-matrix-self-delete': 'false',
        'gce-matrix-members': '2',
        'gce-matrix-member-1': member(1),
        'gce-matrix-member-1-param-env': 'TOOL=probe\nI=1',
        'gce-matrix-member-2': member(2),
        'gce-matrix-member-2-param-env': 'TOOL=probe\nI=2',
        'gce-matrix-resources': 'cpus=1\nmemory-mb=0',
      });
      const runs = await Promise.all(
        [1, 2].map(async (i) => {
          const text = await until(`the status of pk-${i}`, () =>
            bed.storage.getObject(BUCKET, `${prefix(`pk-${i}`)}status.json`)?.data.toString('utf8'),
          );
          const out = (f: string) =>
            bed.storage
              .getObject(BUCKET, `${prefix(`pk-${i}`)}outputs/${f}`)
              ?.data.toString('utf8')
              .trim();
          return {
            status: JSON.parse(text) as { state: string; reason?: string; provenance: Provenance },
            out,
          };
        }),
      );
      for (const [n, run] of runs.entries()) {
        const i = n + 1;
        assert.equal(run.status.state, 'succeeded', run.status.reason);
        assert.equal(run.status.provenance.placement?.index, i);
        assert.deepEqual(run.status.provenance.placement?.neighbours, [`pk-${3 - i}`]);
        // one CPU each (the same one when the first had ended before the second was admitted)
        assert.match(run.out('cpus') ?? '', /^\d+$/);
        assert.equal(run.out('cpus'), run.status.provenance.placement?.cpus);
        assert.ok(Number(run.out('uid')) >= 2_000_000_000, `member ${i} ran as the image's new user`);
        assert.match(run.out('attack') ?? '', /^refused (7|52|55|56)$/);
        const neighbourFiles = run.out('neighbour') ?? '';
        assert.equal(neighbourFiles.split('\n').length, 4, neighbourFiles);
        for (const line of neighbourFiles.split('\n')) assert.match(line, /: denied$/, neighbourFiles);
      }
      assert.notEqual(runs[0]?.out('uid'), runs[1]?.out('uid'), 'a user per member');
      // the coordinator says so once both members' agents have exited, which is after their statuses
      await until('the coordinator’s end', () =>
        /gce-matrix-agent: every member's agent has ended/.test(serial('gcem-packed')) ? true : undefined,
      );
    });

    it('a packed VM with a service per member: a member’s command reaches its own service and is refused its neighbour’s', async () => {
      const prefix = (id: string) => `gce-matrix/runs/${RUN}/experiments/${id}/`;
      const member = (i: number) =>
        `experiment=svc-${i}\nexperiment-prefix=${prefix(`svc-${i}`)}\nattempt=1\nparams={"i":${i}}`;
      // Each command asks its own service, then the neighbour's (the other port of the machine-wide registry,
      // readable by anyone, as a scan of the ports would find it) once it is listening; both stay until the
      // other has tried, so that neither service is gone before it was asked.
      const command = `out=$GCE_MATRIX_OUTPUT_DIR
ask() { curl -sS --max-time 5 -o "$out/$2.body" "http://127.0.0.1:$1/" 2>"$out/$2.err"; echo $?; }
own=$GCE_MATRIX_SERVICE_WEB_PORT
echo "$own $(ask "$own" own)" > "$out/own"
for _ in $(seq 100); do
  other=$(grep -vx "$own" /var/tmp/gce-matrix-ports | tail -n 1)
  if [ -n "$other" ]; then rc=$(ask "$other" other); [ "$rc" = 7 ] || break; fi
  sleep 0.2
done
echo "$other $rc" > "$out/other"
id -u > "$out/uid"
touch "/tmp/asked-$GCE_MATRIX_PARAM_I"
for _ in $(seq 100); do [ -e "/tmp/asked-$((3 - GCE_MATRIX_PARAM_I))" ] && break; sleep 0.2; done`;
      await boot(
        'gcem-packed-svc',
        {
          'startup-script': `GCE_MATRIX_MODE=startup\n${AGENT}`,
          'shutdown-script': `GCE_MATRIX_MODE=shutdown\n${AGENT}`,
          'gce-matrix-bucket': BUCKET,
          'gce-matrix-experiment-prefix': prefix('svc-1'),
          'gce-matrix-run-id': RUN,
          'gce-matrix-experiment': 'pack-0000000001',
          'gce-matrix-command': command,
          'gce-matrix-services':
            'service web\nimage bed/web:1\nenv MESSAGE=hello\nport 8080\nhealth-cmd ./ready\nhealth-interval 1',
          'gce-matrix-self-delete': 'false',
          'gce-matrix-members': '2',
          'gce-matrix-member-1': member(1),
          'gce-matrix-member-1-param-env': 'I=1',
          'gce-matrix-member-2': member(2),
          'gce-matrix-member-2-param-env': 'I=2',
          'gce-matrix-resources': 'cpus=1\nmemory-mb=0',
        },
        'projects/cos-cloud/global/images/family/cos-stable',
      );
      const runs = await Promise.all(
        [1, 2].map(async (i) => {
          const text = await until(`the status of svc-${i}`, () =>
            bed.storage.getObject(BUCKET, `${prefix(`svc-${i}`)}status.json`)?.data.toString('utf8'),
          );
          const out = (f: string) =>
            bed.storage
              .getObject(BUCKET, `${prefix(`svc-${i}`)}outputs/${f}`)
              ?.data.toString('utf8')
              .trim();
          return { status: JSON.parse(text) as { state: string; reason?: string }, out };
        }),
      );
      const ports = runs.map((run) => run.out('own')?.split(' ')[0]);
      for (const [n, run] of runs.entries()) {
        assert.equal(run.status.state, 'succeeded', run.status.reason);
        assert.ok(Number(run.out('uid')) >= 2_000_000_000, `member ${n + 1} ran as the image's new user`);
        // its own service answers it
        assert.equal(run.out('own'), `${ports[n]} 0`, run.out('own.err'));
        assert.equal(run.out('own.body'), 'web says hello');
        // the neighbour's port was listening (not refused, 7) and reset the connection: no answer
        const [other, rc] = (run.out('other') ?? '').split(' ');
        assert.equal(other, ports[1 - n], 'the neighbour’s port, found in the registry');
        assert.match(rc ?? '', /^(52|56)$/, run.out('other.err'));
        assert.equal(run.out('other.body') ?? '', '');
      }
      assert.notEqual(ports[0], ports[1]);
    });

    it('an agent that forgot the rule and the check hands the command the VM’s token: the rule is what stops it', async () => {
      const careless = agentWith('gm_install_firewall() { return 0; }\ngm_check_blocked() { return 0; }');
      const run = await runAgent('iso-forgot-all', ATTACK, {}, careless);
      assert.equal(run.status.state, 'succeeded', run.status.reason);
      assert.equal(run.output('attack')?.trim(), 'reached');
      const token = (JSON.parse(run.output('token.json') ?? '{}') as { access_token?: string }).access_token;
      assert.equal(bed.tokens.check(`Bearer ${token}`)?.email, bed.vmServiceAccount);
    });
  });
});
