import { describe, expect, it } from 'vitest';
import { isLoopback } from '../src/serve/server.js';

describe('isLoopback (decides the "beyond loopback without a token" warning)', () => {
  it('accepts loopback addresses only', () => {
    for (const h of ['127.0.0.1', '127.1.2.3', '::1', 'localhost', '::ffff:127.0.0.1']) expect([h, isLoopback(h)]).toEqual([h, true]);
    for (const h of ['0.0.0.0', '::', '192.168.1.10', '10.0.0.1', 'example.com', '128.0.0.1', '::ffff:10.0.0.1']) expect([h, isLoopback(h)]).toEqual([h, false]);
  });
});
