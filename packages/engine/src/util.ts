import { randomBytes } from 'node:crypto';

const ALPHA = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

/** Random token of `n` alphanumeric characters (tags, Call-IDs). */
export function randomToken(n: number): string {
  const b = randomBytes(n);
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHA[(b[i] as number) % 62];
  return s;
}

// Branches and tags: a random per-process prefix plus a counter: unique and cheap.
const prefix = randomToken(8);
let counter = 0;

export function newBranch(): string {
  counter = (counter + 1) % 0x7fffffff;
  return `z9hG4bK${prefix}${counter.toString(36)}`;
}

function fastChars(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHA[Math.floor(Math.random() * 62)];
  return s;
}

export function newTag(): string {
  counter = (counter + 1) % 0x7fffffff;
  return `${prefix.slice(0, 5)}${counter.toString(36)}${fastChars(3)}`;
}

/** `hh:mm:ss.uuuuuu` (UTC), the time token of drachtio frames. */
let lastMs = -1;
let lastTime = '';

export function stackTime(): string {
  const now = Date.now();
  if (now === lastMs) return lastTime;
  lastMs = now;
  lastTime = formatStackTime(new Date(now));
  return lastTime;
}

function formatStackTime(d: Date): string {
  const p2 = (n: number): string => (n < 10 ? `0${n}` : String(n));
  const us = String(d.getUTCMilliseconds() * 1000).padStart(6, '0');
  return `${p2(d.getUTCHours())}:${p2(d.getUTCMinutes())}:${p2(d.getUTCSeconds())}.${us}`;
}

export function randomCSeq(): number {
  return 1 + Math.floor(Math.random() * 100000000);
}
