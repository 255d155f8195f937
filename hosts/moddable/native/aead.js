/*
 * Native ChaCha20-Poly1305 for Moddable builds (xs_aead.c, chacha20poly1305.c)
 * and the platform CSPRNG (random.c). `aead` implements the Aead interface of
 * src/crypto/backend.ts and is byte-identical to noble's chacha20poly1305.
 * The native side works on the buffers in place; JS only checks sizes.
 */

function nativeSeal(key, nonce, input, output, aad) @ "xs_sealbell_aead_seal";
function nativeOpen(key, nonce, sealed, output, aad) @ "xs_sealbell_aead_open";
function nativeRandomFill(buffer) @ "xs_sealbell_random_fill";

const TAG_LENGTH = 16;

/** `out` when given (cut to n bytes), else a fresh array of n bytes. */
function output(out, n) {
	if (out === undefined)
		return new Uint8Array(n);
	if (out.length < n)
		throw new RangeError("aead: output buffer too small");
	return out.length === n ? out : out.subarray(0, n);
}

export const aead = Object.freeze({
	seal(key, nonce, plaintext, out) {
		out = output(out, plaintext.length + TAG_LENGTH);
		nativeSeal(key, nonce, plaintext, out);
		return out;
	},
	open(key, nonce, sealed, out) {
		if (sealed.length < TAG_LENGTH)
			throw new RangeError("aead: sealed input shorter than a tag");
		out = output(out, sealed.length - TAG_LENGTH);
		if (!nativeOpen(key, nonce, sealed, out))
			throw new Error("aead: authentication failed");
		return out;
	},
});

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
