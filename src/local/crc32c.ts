/**
 * CRC-32C (Castagnoli) in the forms the stand-ins answer with, computed by the storage library's CRC32C, the
 * one Cloud Storage clients check downloads with.
 */
import { CRC32C } from '@google-cloud/storage';

function bufferOf(data: Uint8Array): Buffer {
  return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

/** The CRC-32C of `data` as an unsigned 32-bit number (Secret Manager's `dataCrc32c`). */
export function crc32c(data: Uint8Array): number {
  const crc = new CRC32C();
  crc.update(bufferOf(data));
  return crc.valueOf() >>> 0;
}

/** A running CRC-32C over data that arrives in pieces, read in Cloud Storage's base64 form. */
export class Crc32c {
  readonly #crc = new CRC32C();

  update(data: Uint8Array): this {
    this.#crc.update(bufferOf(data));
    return this;
  }

  /** The 4 bytes big-endian, base64, as `crc32c` fields and `x-goog-hash` carry it. */
  base64(): string {
    return this.#crc.toString();
  }
}
