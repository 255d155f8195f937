/**
 * The Alloc hook (src/age/stream.ts) for devices: the sealer's two chunk
 * buffers (64 KiB and 64 KiB + 16) come from host memory — PSRAM on the camera
 * boards — instead of the XS heap, which on an ESP32 target can be ~77 KB in all.
 * The native AEAD seals straight from one into the other.
 *
 * Each clip allocates a fresh pair; the previous pair is zeroed and freed when
 * the collector finds it unreferenced (the sealer drops it when the clip ends).
 */
import type { Alloc } from '../../src/host.js';
import { hostBytes } from './native/hostbuffer.js';

export const hostAlloc: Alloc = (n) => hostBytes(n);
