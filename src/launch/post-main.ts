import { runAction } from '../action.ts';
import { post } from './cleanup.ts';

/**
 * The post step's entry point for any runner (the bundle's post.js, GitHub's local-action): deletes the VM the
 * main step left behind; a failure becomes a failed step, never a crash.
 */
export async function run(): Promise<void> {
  await runAction('launch (post)', post);
}
