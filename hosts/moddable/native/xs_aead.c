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
 * Incremental sealing (aead.js SealStream, a host object holding an
 * sb_aead_stream in host memory):
 *
 *   xs_sealbell_seal_stream()                      constructor
 *   xs_sealbell_seal_stream_begin(key, nonce)      -> undefined
 *   xs_sealbell_seal_stream_update(input, output)  -> message length so far
 *   xs_sealbell_seal_stream_finish(output[, nonce]) -> message length
 *
 * update encrypts input into output at the message length so far (output is
 * the message's whole buffer, passed on every call because XS heap buffers
 * may move between calls); finish writes the tag after the message, first
 * re-sealing it under `nonce` when one is given (age's last chunk).
 *
 * Buffer pointers from the XS heap may move when the GC compacts, so all of
 * them are taken after anything that could allocate and used right away.
 */
#include "xsmc.h"

#include <stdlib.h>
#include <string.h>

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

/* ---- incremental sealing ---------------------------------------------- */

typedef struct {
	sb_aead_stream stream;
	int active;			/* a message is begun and not yet finished */
} SealStream;

static void wipeSealStream(SealStream *s)
{
	volatile uint8_t *v = (volatile uint8_t *)s;
	size_t n = sizeof(*s);
	while (n--)
		*v++ = 0;
}

void xs_sealbell_seal_stream_destructor(void *data)
{
	if (data) {
		wipeSealStream(data);
		free(data);
	}
}

void xs_sealbell_seal_stream(xsMachine *the)
{
	SealStream *s = calloc(1, sizeof(SealStream));
	if (!s)
		xsUnknownError("no memory for the seal stream");
	xsmcSetHostData(xsThis, s);
}

static SealStream *getSealStream(xsMachine *the)
{
	SealStream *s = xsmcGetHostDataValidate(xsThis, xs_sealbell_seal_stream_destructor);
	if (!s)
		xsUnknownError("seal stream is closed");
	return s;
}

void xs_sealbell_seal_stream_begin(xsMachine *the)
{
	SealStream *s = getSealStream(the);
	uint8_t *key, *nonce;
	xsUnsignedValue keyLen, nonceLen;

	xsmcGetBufferReadable(xsArg(0), (void **)&key, &keyLen);
	xsmcGetBufferReadable(xsArg(1), (void **)&nonce, &nonceLen);
	if (SB_AEAD_KEY_BYTES != keyLen)
		xsRangeError("key must be 32 bytes");
	if (SB_AEAD_NONCE_BYTES != nonceLen)
		xsRangeError("nonce must be 12 bytes");
	sb_aead_stream_begin(&s->stream, key, nonce);
	s->active = 1;
}

void xs_sealbell_seal_stream_update(xsMachine *the)
{
	SealStream *s = getSealStream(the);
	uint8_t *in, *out, *at;
	xsUnsignedValue inLen, outLen;
	uint64_t length;

	if (!s->active)
		xsUnknownError("no message begun");
	xsmcGetBufferReadable(xsArg(0), (void **)&in, &inLen);
	xsmcGetBufferWritable(xsArg(1), (void **)&out, &outLen);
	length = sb_aead_stream_length(&s->stream);
	if ((uint64_t)outLen < length + inLen + SB_AEAD_TAG_BYTES)
		xsRangeError("output too small for the message and its tag");
	at = out + length;
	/* in place (input already where its ciphertext goes) is fine; other overlap is not */
	if ((in != at) && (in < at + inLen) && (at < in + inLen))
		xsUnknownError("input and output overlap");
	sb_aead_stream_update(&s->stream, in, inLen, out);
	xsmcSetNumber(xsResult, (double)(length + inLen));
}

void xs_sealbell_seal_stream_finish(xsMachine *the)
{
	SealStream *s = getSealStream(the);
	uint8_t *out, *nonce, finalNonce[SB_AEAD_NONCE_BYTES];
	xsUnsignedValue outLen, nonceLen;
	uint64_t length;
	int renonce = (xsmcArgc > 1) && (xsUndefinedType != xsmcTypeOf(xsArg(1)));

	if (!s->active)
		xsUnknownError("no message begun");
	if (renonce) {
		xsmcGetBufferReadable(xsArg(1), (void **)&nonce, &nonceLen);
		if (SB_AEAD_NONCE_BYTES != nonceLen)
			xsRangeError("nonce must be 12 bytes");
		memcpy(finalNonce, nonce, sizeof(finalNonce));
	}
	xsmcGetBufferWritable(xsArg(0), (void **)&out, &outLen);
	length = sb_aead_stream_length(&s->stream);
	if ((uint64_t)outLen < length + SB_AEAD_TAG_BYTES)
		xsRangeError("output too small for the message and its tag");
	if (renonce)
		sb_aead_stream_finish_as(&s->stream, finalNonce, out);
	else
		sb_aead_stream_finish(&s->stream, out);
	s->active = 0;
	xsmcSetNumber(xsResult, (double)length);
}
