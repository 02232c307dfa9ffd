import { readFile } from 'node:fs/promises';

/** The event a workflow run is for: its name and payload (empty when the runner gave none). */
export interface WorkflowEvent {
  readonly name: string;
  readonly payload: Record<string, unknown>;
}

/** Reads the event the runner describes in GITHUB_EVENT_NAME and GITHUB_EVENT_PATH. */
export async function readEvent(env: NodeJS.ProcessEnv): Promise<WorkflowEvent> {
  let payload: Record<string, unknown> = {};
  if (env.GITHUB_EVENT_PATH) {
    try {
      payload = JSON.parse(await readFile(env.GITHUB_EVENT_PATH, 'utf8')) as Record<string, unknown>;
    } catch {
      // no readable event: inputs alone decide
    }
  }
  return { name: env.GITHUB_EVENT_NAME ?? '', payload };
}
