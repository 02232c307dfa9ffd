import * as core from '@actions/core';
import type { VmHandle } from './experiment.ts';

/** State the main step leaves for its post step: which VM to delete if the job is cancelled or fails. */
export interface LaunchState {
  readonly project: string;
  readonly vm: VmHandle | undefined;
  /** True once the main step finished and deleted its VMs itself (or left one detached). */
  readonly finished: boolean;
  /** The VM the main step left running for the watcher: the post step must never delete it. */
  readonly detached?: { readonly name: string; readonly zone: string } | undefined;
}

const KEY = 'gce-matrix-launch';

/** Saves the post step's handle; called before every API call that may create a VM. */
export function saveLaunchState(state: LaunchState): void {
  core.saveState(KEY, JSON.stringify(state));
}

/** The handle the main step saved, if any. */
export function readLaunchState(): LaunchState | undefined {
  const raw = core.getState(KEY);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as LaunchState;
  } catch {
    return undefined;
  }
}
