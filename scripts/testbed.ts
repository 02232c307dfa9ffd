/**
 * Starts every stand-in of the test bed on 127.0.0.1 and keeps them running until Ctrl-C, printing the
 * environment to export so any client (curl, the bundled actions, your own code) talks to them.
 * `--demo` instead boots one emulated VM end to end and exits.
 */
import { startTestBed } from '../test/bed/index.ts';
import { runBootScenario } from '../test/bed/scenario.ts';

const demo = process.argv.includes('--demo');
const bed = await startTestBed();

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

if (demo) {
  console.log(
    'gce-matrix test bed: Compute Engine, Cloud Storage, workload identity and GitHub stand-ins on 127.0.0.1',
  );
  try {
    const result = await runBootScenario(bed, (line) => console.log(`  ${line}`));
    console.log('serial console of the VM:');
    for (const line of result.serial.trimEnd().split('\n').slice(-6)) console.log(`  | ${line}`);
    const counts = new Map<string, number>();
    for (const r of bed.recorder.requests) counts.set(r.service, (counts.get(r.service) ?? 0) + 1);
    console.log(`requests served: ${[...counts].map(([s, n]) => `${s} ${n}`).join(', ')}`);
    console.log(
      'ok: an emulated VM booted, authenticated through its metadata server and wrote to Cloud Storage.',
    );
  } catch (err) {
    console.error(`demo failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
  } finally {
    await bed.close();
  }
} else {
  console.log('# gce-matrix test bed is running; export these in another shell:');
  for (const [key, value] of Object.entries(bed.env)) console.log(`export ${key}=${shellQuote(value)}`);
  console.log(`# project ${bed.project}, workload identity provider ${bed.workloadIdentityProvider}`);
  console.log(`# service account ${bed.serviceAccount}; VMs run as ${bed.vmServiceAccount}`);
  console.log('# Ctrl-C stops it.');
  const stop = (): void => {
    void bed.close().then(() => process.exit(0));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
