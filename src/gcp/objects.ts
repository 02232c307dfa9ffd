import type { Bucket } from '@google-cloud/storage';
import { GcpError, classifyError, httpStatus } from './errors.ts';

/**
 * Creates a small JSON object only if it does not exist yet (a single-request upload with
 * `ifGenerationMatch: 0`): its generation when this call created it, undefined when another writer was first.
 * This is what makes records written once and locks held by one writer.
 */
export async function createObjectOnce(
  bucket: Bucket,
  name: string,
  text: string,
): Promise<string | undefined> {
  const file = bucket.file(name);
  try {
    await file.save(text, {
      resumable: false,
      contentType: 'application/json',
      preconditionOpts: { ifGenerationMatch: 0 },
    });
    return String(file.metadata.generation ?? '');
  } catch (err) {
    if (httpStatus(err) === 412) return undefined;
    throw new GcpError(`write gs://${bucket.name}/${name}`, classifyError(err));
  }
}
