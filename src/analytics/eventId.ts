/**
 * Event ids: UUID version 7 (RFC 9562): 48 bits of Unix milliseconds, then a 12-bit counter that
 * keeps ids made in the same millisecond in order, then 62 random bits. Unique across restarts and
 * processes, and sorting them as strings sorts them by creation time.
 */
import { randomFillSync } from 'node:crypto';

const random = new Uint8Array(8);
let lastMs = -1;
let counter = 0;

export function uuidv7(now: number = Date.now()): string {
  let ms = Math.max(Math.floor(now), lastMs);
  if (ms === lastMs) {
    counter++;
    if (counter > 0xfff) {
      // 4096 ids in one millisecond: borrow the next millisecond rather than lose the order.
      ms++;
      counter = 0;
    }
  } else counter = 0;
  lastMs = ms;
  randomFillSync(random);
  const hex = (v: number, digits: number): string => v.toString(16).padStart(digits, '0');
  const rand = Array.from(random, (b) => hex(b, 2)).join('');
  const variant = hex(0x8 | (random[0]! >> 6), 1); // 10xx: the RFC 4122 / 9562 variant
  const time = hex(ms, 12);
  return `${time.slice(0, 8)}-${time.slice(8)}-7${hex(counter, 3)}-${variant}${rand.slice(1, 4)}-${rand.slice(4, 16)}`;
}
