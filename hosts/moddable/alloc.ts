/**
 * The Alloc hook (src/age/stream.ts) for devices: the sealer's one chunk buffer
 * (64 KiB + 16) comes from host memory — PSRAM on the camera boards — instead
 * of the XS heap, which on an ESP32 target can be ~77 KB in all. The native
 * AEAD seals each frame straight from the camera's buffer into it.
 *
 * The doorbell allocates it once and reuses it for every clip (it records one
 * clip at a time); when collected, it is zeroed and freed (hostbuffer.c).
 */
import type { Alloc } from '../../src/host.js';
import { hostBytes } from './native/hostbuffer.js';

export const hostAlloc: Alloc = (n) => hostBytes(n);
