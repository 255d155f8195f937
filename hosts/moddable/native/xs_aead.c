/*
 * XS (Moddable SDK) binding for the native ChaCha20-Poly1305 core.
 *
 *   xs_sealbell_aead_seal(key, nonce, input, output[, aad])            -> undefined
 *   xs_sealbell_aead_open(key, nonce, sealed, output[, aad])           -> boolean
 *
 * Every argument is an ArrayBuffer, typed array, DataView or host buffer.
 * The core works directly on the buffers' memory: no bulk bytes pass through
 * the XS heap. seal writes ciphertext||tag (input length + 16 bytes) to the
 * start of output; open reads ciphertext||tag and writes input length - 16
 * bytes, returning false (with that output zeroed) if the tag is wrong.
 * input and output may be the same memory (in place) but must not otherwise
 * overlap.
 *
 * Buffer pointers from the XS heap may move when the GC compacts, so all of
 * them are taken after anything that could allocate and used right away.
 */
#include "xsmc.h"

#include "chacha20poly1305.h"

typedef struct {
	uint8_t *key, *nonce, *in, *out, *aad;
	xsUnsignedValue keyLen, nonceLen, inLen, outLen, aadLen;
} AeadArgs;

static void getArgs(xsMachine *the, AeadArgs *a)
{
	int hasAad = (xsmcArgc > 4) && (xsUndefinedType != xsmcTypeOf(xsArg(4)));

	xsmcGetBufferReadable(xsArg(0), (void **)&a->key, &a->keyLen);
	xsmcGetBufferReadable(xsArg(1), (void **)&a->nonce, &a->nonceLen);
	xsmcGetBufferReadable(xsArg(2), (void **)&a->in, &a->inLen);
	xsmcGetBufferWritable(xsArg(3), (void **)&a->out, &a->outLen);
	a->aad = NULL;
	a->aadLen = 0;
	if (hasAad)
		xsmcGetBufferReadable(xsArg(4), (void **)&a->aad, &a->aadLen);

	if (SB_AEAD_KEY_BYTES != a->keyLen)
		xsRangeError("key must be 32 bytes");
	if (SB_AEAD_NONCE_BYTES != a->nonceLen)
		xsRangeError("nonce must be 12 bytes");
}

/* in == out is fine; any other overlap would corrupt the data. */
static void checkOverlap(xsMachine *the, const uint8_t *in, xsUnsignedValue inLen,
	const uint8_t *out, xsUnsignedValue outLen)
{
	if ((in != out) && (in < out + outLen) && (out < in + inLen))
		xsUnknownError("input and output overlap");
}

void xs_sealbell_aead_seal(xsMachine *the)
{
	AeadArgs a;

	getArgs(the, &a);
	if (a.inLen > 0x7fffffff - SB_AEAD_TAG_BYTES)
		xsRangeError("input too large");
	if (a.outLen < a.inLen + SB_AEAD_TAG_BYTES)
		xsRangeError("output too small");
	checkOverlap(the, a.in, a.inLen, a.out, a.inLen + SB_AEAD_TAG_BYTES);

	sb_aead_seal(a.key, a.nonce, a.aad, a.aadLen, a.in, a.inLen, a.out);
}

void xs_sealbell_aead_open(xsMachine *the)
{
	AeadArgs a;
	xsUnsignedValue len;

	getArgs(the, &a);
	if (a.inLen < SB_AEAD_TAG_BYTES)
		xsRangeError("sealed input shorter than a tag");
	len = a.inLen - SB_AEAD_TAG_BYTES;
	if (a.outLen < len)
		xsRangeError("output too small");
	checkOverlap(the, a.in, a.inLen, a.out, len);

	xsmcSetBoolean(xsResult, 0 == sb_aead_open(a.key, a.nonce, a.aad, a.aadLen, a.in, len, a.out));
}
