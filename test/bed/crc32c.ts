import { crc32cUpdate } from '../../src/local/crc32c.ts';

/** CRC32C (Castagnoli) of `data` as an unsigned 32-bit number, as Secret Manager's `dataCrc32c` holds it. */
export function crc32c(data: Uint8Array): number {
  return crc32cUpdate(0, data);
}
