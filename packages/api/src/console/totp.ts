import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

/** TOTP (RFC 6238) over HOTP (RFC 4226): HMAC-SHA-1, 30-second steps, 6 digits, ±1 step of clock drift. */
export const TOTP = { stepSec: 30, digits: 6, drift: 1 } as const;

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

export function base32Encode(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of buf) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

export function base32Decode(s: string): Buffer {
  const clean = s.toUpperCase().replace(/=+$/, '').replace(/\s+/g, '');
  const out: number[] = [];
  let bits = 0;
  let value = 0;
  for (const ch of clean) {
    const i = B32.indexOf(ch);
    if (i < 0) throw new Error('invalid base32');
    value = (value << 5) | i;
    bits += 5;
    if (bits >= 8) {
      out.push((value >>> (bits - 8)) & 255);
      bits -= 8;
    }
  }
  return Buffer.from(out);
}

/** A new 160-bit secret, base32 (what authenticator apps expect). */
export function newTotpSecret(): string {
  return base32Encode(randomBytes(20));
}

/** HOTP value of one counter (RFC 4226 §5.3, dynamic truncation). */
export function hotp(secret: Buffer, counter: number): string {
  const msg = Buffer.alloc(8);
  msg.writeBigUInt64BE(BigInt(counter));
  const mac = createHmac('sha1', secret).update(msg).digest();
  const off = (mac[mac.length - 1] as number) & 0x0f;
  const bin = (((mac[off] as number) & 0x7f) << 24) | ((mac[off + 1] as number) << 16) | ((mac[off + 2] as number) << 8) | (mac[off + 3] as number);
  return String(bin % 10 ** TOTP.digits).padStart(TOTP.digits, '0');
}

export function totpAt(secretB32: string, epochMs: number): string {
  return hotp(base32Decode(secretB32), Math.floor(epochMs / 1000 / TOTP.stepSec));
}

/** The time step a code matches (within the drift window), or null. Callers refuse steps already used. */
export function verifyTotp(secretB32: string, code: string, epochMs: number): number | null {
  if (!/^[0-9]{6}$/.test(code)) return null;
  const key = base32Decode(secretB32);
  const step = Math.floor(epochMs / 1000 / TOTP.stepSec);
  for (let d = -TOTP.drift; d <= TOTP.drift; d++) {
    const want = Buffer.from(hotp(key, step + d));
    if (timingSafeEqual(want, Buffer.from(code))) return step + d;
  }
  return null;
}

/** otpauth:// URI for authenticator apps (Key Uri Format). */
export function totpUri(secretB32: string, login: string, issuer = 'Kumo'): string {
  const label = encodeURIComponent(`${issuer}:${login}`);
  return `otpauth://totp/${label}?secret=${secretB32}&issuer=${encodeURIComponent(issuer)}&algorithm=SHA1&digits=${TOTP.digits}&period=${TOTP.stepSec}`;
}
