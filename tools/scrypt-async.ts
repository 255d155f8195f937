/**
 * scrypt for the Node tools that does not block the event loop: Node's crypto.scrypt
 * runs in libuv's thread pool (a 2^18 escrow takes seconds; the relay, the doorbell
 * and keep-alive sockets in the same process carry on meanwhile). Byte-identical to
 * noble's (test/scrypt-async.test.ts).
 */
import crypto from 'node:crypto';
import type { AsyncScrypt } from '../src/age/scrypt.js';

export const nodeScrypt: AsyncScrypt = (i) =>
  new Promise((resolve, reject) => {
    // Node wants a little more than 128·r·N bytes of headroom.
    crypto.scrypt(i.password, i.salt, i.dkLen, { N: i.N, r: i.r, p: i.p, maxmem: i.maxmem + 1024 * 1024 }, (err, key) => {
      if (err) reject(err);
      else resolve(new Uint8Array(key.buffer, key.byteOffset, key.length));
    });
  });
