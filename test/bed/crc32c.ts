/** Reflected form of the Castagnoli polynomial 0x1EDC6F41. */
const POLY = 0x82f63b78;

const TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ POLY : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();

/**
 * CRC32C (Castagnoli) of `data`, as an unsigned 32-bit number. Pass the CRC of the preceding bytes as
 * `previous` to continue a running checksum: `crc32c(b, crc32c(a)) === crc32c(a + b)`.
 */
export function crc32c(data: Uint8Array, previous = 0): number {
  let c = ~previous >>> 0;
  for (let i = 0; i < data.length; i++) c = TABLE[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** A CRC32C as Cloud Storage prints it: the four bytes big-endian, base64. */
export function crc32cToBase64(crc: number): string {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(crc >>> 0);
  return b.toString('base64');
}

/** CRC32C of `data` in Cloud Storage's base64 form. */
export function crc32cBase64(data: Uint8Array): string {
  return crc32cToBase64(crc32c(data));
}
