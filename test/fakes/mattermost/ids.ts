import { randomBytes } from 'node:crypto';

// NewId: a random UUID v4 encoded with base32 alphabet "ybndrfg8ejkmcpqxot1uwisza345h769", no padding,
// so 26 lowercase characters (mattermost/mattermost server/public/model/utils.go, NewId).
const ALPHABET = 'ybndrfg8ejkmcpqxot1uwisza345h769';

export function newId(): string {
  const bytes = randomBytes(16);
  bytes[6] = (bytes[6] & 0x0f) | 0x40; // UUID version 4, as uuid.NewRandom
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += ALPHABET[(value << (5 - bits)) & 31];
  return out;
}

// IsValidId: 26 characters, letters and digits (server/public/model/utils.go IsValidId). The ids NewId makes
// are always lowercase, so the fake asks for [a-z0-9] like the brief's contract.
export function isValidId(s: unknown): s is string {
  return typeof s === 'string' && /^[a-z0-9]{26}$/.test(s);
}
