/*
 * Native ChaCha20-Poly1305 for Moddable builds (xs_aead.c, chacha20poly1305.c)
 * and the platform CSPRNG (random.c). `aead` implements the Aead interface of
 * src/crypto/backend.ts and is byte-identical to noble's chacha20poly1305.
 * The native side works on the buffers in place; the JS shell around it
 * (aead-shell.js) only checks sizes, O(1) per call.
 */
import { makeAead } from "./aead-shell";

function nativeSeal(key, nonce, input, output, aad) @ "xs_sealbell_aead_seal";
function nativeOpen(key, nonce, sealed, output, aad) @ "xs_sealbell_aead_open";
function nativeRandomFill(buffer) @ "xs_sealbell_random_fill";

/** One message sealed incrementally; its state (key stream, Poly1305) lives in host memory. */
class SealStream @ "xs_sealbell_seal_stream_destructor" {
	constructor() @ "xs_sealbell_seal_stream";
	begin(key, nonce) @ "xs_sealbell_seal_stream_begin";
	update(input, output) @ "xs_sealbell_seal_stream_update";
	finish(output, nonce) @ "xs_sealbell_seal_stream_finish";
}

export const aead = makeAead({ seal: nativeSeal, open: nativeOpen, SealStream });

/** Fills `buffer` from the platform CSPRNG and returns it. */
export function randomFill(buffer) {
	nativeRandomFill(buffer);
	return buffer;
}

/** n bytes from the platform CSPRNG (the Random type of src/crypto/backend.ts). */
export function random(n) {
	return randomFill(new Uint8Array(n));
}

export default aead;
