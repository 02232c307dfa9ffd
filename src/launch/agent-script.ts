import { readFile } from 'node:fs/promises';

/**
 * The VM agent script. It lives beside the code as src/agent/agent.sh and is copied to dist/agent/agent.sh,
 * so the same relative path serves the sources and the bundles.
 */
export async function loadAgentScript(): Promise<string> {
  return readFile(new URL('../agent/agent.sh', import.meta.url), 'utf8');
}
