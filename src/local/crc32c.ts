/** CRC-32C (Castagnoli), bit-reflected: the polynomial 0x1EDC6F41 reversed. */
const REFLECTED_POLYNOMIAL = 0x82f63b78;

/**
 * Eight 256-entry tables, one after the other: table k gives the CRC of a byte followed by k zero bytes, so
 * eight input bytes fold into the CRC with eight lookups instead of eight rounds of the bytewise loop.
 */
const TABLES = (() => {
  const t = new Uint32Array(8 * 256);
  for (let byte = 0; byte < 256; byte++) {
    let crc = byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ REFLECTED_POLYNOMIAL : crc >>> 1;
    t[byte] = crc;
  }
  for (let k = 1; k < 8; k++) {
    for (let byte = 0; byte < 256; byte++) {
      const prev = t[(k - 1) * 256 + byte];
      t[k * 256 + byte] = (prev >>> 8) ^ t[prev & 0xff];
    }
  }
  return t;
})();

/**
 * Continues the CRC-32C `crc` (of the bytes before; 0 for none) over `data`:
 * `crc32cUpdate(crc32cUpdate(0, a), b) === crc32cUpdate(0, a + b)`.
 */
export function crc32cUpdate(crc: number, data: Uint8Array): number {
  const t = TABLES;
  let c = ~crc >>> 0;
  let i = 0;
  const whole = data.length - (data.length % 8);
  for (; i < whole; i += 8) {
    const lo = (c ^ (data[i] | (data[i + 1] << 8) | (data[i + 2] << 16) | (data[i + 3] << 24))) >>> 0;
    const hi = data[i + 4] | (data[i + 5] << 8) | (data[i + 6] << 16) | (data[i + 7] << 24);
    c =
      t[7 * 256 + (lo & 0xff)] ^
      t[6 * 256 + ((lo >>> 8) & 0xff)] ^
      t[5 * 256 + ((lo >>> 16) & 0xff)] ^
      t[4 * 256 + (lo >>> 24)] ^
      t[3 * 256 + (hi & 0xff)] ^
      t[2 * 256 + ((hi >>> 8) & 0xff)] ^
      t[256 + ((hi >>> 16) & 0xff)] ^
      t[(hi >>> 24) & 0xff];
  }
  for (; i < data.length; i++) c = t[(c ^ data[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

/** A CRC-32C as Cloud Storage writes it (`crc32c` fields, `x-goog-hash`): the 4 bytes big-endian, base64. */
export function crc32cBase64(crc: number): string {
  const bytes = Buffer.alloc(4);
  bytes.writeUInt32BE(crc >>> 0);
  return bytes.toString('base64');
}

/** A running CRC-32C over data that arrives in pieces. */
export class Crc32c {
  /** The CRC of everything passed to `update` so far, unsigned. */
  value = 0;

  update(data: Uint8Array): this {
    this.value = crc32cUpdate(this.value, data);
    return this;
  }

  /** In Cloud Storage's base64 form. */
  base64(): string {
    return crc32cBase64(this.value);
  }
}
