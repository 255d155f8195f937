/*
 * The JS side of the native AEAD (aead.js): argument checks and the shape of
 * the Aead interface of src/crypto/backend.ts around the native functions.
 * Kept apart from aead.js, whose native bindings (`@` syntax) only mcconfig
 * compiles, so that the same shell also runs under xsnap in CI with the same
 * C code built in (tools/xs-native). O(1) work per call: every byte is
 * handled natively.
 *
 * natives: { seal(key, nonce, input, output), open(key, nonce, sealed, output) -> boolean,
 *            SealStream: class { begin(key, nonce); update(input, output) -> length;
 *                                 finish(output[, nonce]) -> length } }
 */

const TAG_LENGTH = 16;

/** `out` when given (cut to n bytes), else a fresh array of n bytes. */
function output(out, n) {
	if (out === undefined)
		return new Uint8Array(n);
	if (out.length < n)
		throw new RangeError("aead: output buffer too small");
	return out.length === n ? out : out.subarray(0, n);
}

/** The AeadSealStream of src/crypto/backend.ts over a native SealStream. */
class NativeSealStream {
	constructor(native) {
		this.native = native;
		this.out = undefined;	// the message's buffer, between begin and finish
		this.bytes = 0;
	}
	get length() {
		return this.bytes;
	}
	begin(key, nonce, out) {
		this.native.begin(key, nonce);
		this.out = out;
		this.bytes = 0;
	}
	update(piece) {
		if (this.out === undefined)
			throw new Error("aead: no message begun");
		this.bytes = this.native.update(piece, this.out);
	}
	finish(nonce) {
		const out = this.out;
		if (out === undefined)
			throw new Error("aead: no message begun");
		this.out = undefined;
		const n = this.native.finish(out, nonce);
		return out.subarray(0, n + TAG_LENGTH);
	}
}

export function makeAead(natives) {
	const { seal, open, SealStream } = natives;
	return Object.freeze({
		seal(key, nonce, plaintext, out) {
			out = output(out, plaintext.length + TAG_LENGTH);
			seal(key, nonce, plaintext, out);
			return out;
		},
		open(key, nonce, sealed, out) {
			if (sealed.length < TAG_LENGTH)
				throw new RangeError("aead: sealed input shorter than a tag");
			out = output(out, sealed.length - TAG_LENGTH);
			if (!open(key, nonce, sealed, out))
				throw new Error("aead: authentication failed");
			return out;
		},
		sealStream() {
			return new NativeSealStream(new SealStream());
		},
	});
}

export default makeAead;
