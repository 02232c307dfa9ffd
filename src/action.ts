import * as core from '@actions/core';
import { isConfigurationError } from './errors.ts';

/**
 * Runs an action's entry point: a user error becomes a failed step with its message (prefixed with the
 * action's name), anything else also shows its stack, as a bug to report.
 */
export async function runAction(name: string, main: () => Promise<void>): Promise<void> {
  try {
    await main();
  } catch (err) {
    if (isConfigurationError(err)) {
      core.setFailed(`gce-matrix ${name}: ${err.message}`);
    } else {
      const e = err instanceof Error ? err : new Error(String(err));
      core.debug(e.stack ?? '');
      core.setFailed(`gce-matrix ${name}: ${e.message}`);
    }
  }
}
