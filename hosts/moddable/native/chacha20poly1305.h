/*
 * ChaCha20-Poly1305 AEAD (RFC 8439): 32-byte key, 12-byte nonce, optional
 * AAD, 16-byte tag. Portable C99, no allocation, no platform includes.
 * Output is byte-identical to noble's chacha20poly1305, whether sealed in one
 * call or incrementally.
 */
#ifndef SEALBELL_CHACHA20POLY1305_H
#define SEALBELL_CHACHA20POLY1305_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SB_AEAD_KEY_BYTES 32
#define SB_AEAD_NONCE_BYTES 12
#define SB_AEAD_TAG_BYTES 16

/*
 * Seals len bytes of `in` into `out`: ciphertext (len bytes) followed by the
 * tag at out + len, so `out` must hold len + 16 bytes. in == out is allowed
 * (in-place); other overlaps are not. aad may be NULL when aadlen is 0.
 * len must be below 2^32 * 64 - 64 bytes (RFC 8439's 32-bit block counter).
 */
void sb_aead_seal(const uint8_t key[32], const uint8_t nonce[12],
                  const uint8_t *aad, size_t aadlen,
                  const uint8_t *in, size_t len, uint8_t *out);

/*
 * Opens ciphertext `in` of len bytes whose tag follows at in + len (so `in`
 * holds len + 16 bytes), writing len bytes of plaintext to `out` (in == out
 * allowed). Returns 0 if the tag is valid, -1 otherwise; on failure `out` is
 * zeroed. The tag is compared in constant time.
 */
int sb_aead_open(const uint8_t key[32], const uint8_t nonce[12],
                 const uint8_t *aad, size_t aadlen,
                 const uint8_t *in, size_t len, uint8_t *out);

/*
 * Incremental sealing of one message (no AAD), for sealing video as it
 * arrives: each piece is encrypted straight into the message's output buffer
 * and its ciphertext absorbed into Poly1305 at once, so no plaintext buffer
 * is needed. The output is byte-identical to sb_aead_seal of the concatenated
 * pieces.
 *
 * `msg` is the start of the message's output buffer on every call (the state
 * keeps no pointer, so the buffer may move between calls): update writes
 * ciphertext at msg + length-so-far, finish writes the tag after it. The
 * buffer must hold the whole message plus 16 bytes. A piece's input may be
 * the very bytes it is written to (in place) but must not otherwise overlap
 * the output.
 *
 * finish_as finishes under a different nonce: it re-encrypts the whole
 * message under `nonce` first. age's STREAM needs it: whether a chunk is the
 * last one (a flag in its nonce) is known only when the recording stops.
 */
/* Poly1305 state: clamped r and accumulator h in 26-bit limbs, s (pad). */
typedef struct {
    uint32_t r[5], h[5], pad[4];
} sb_poly1305_state;

typedef struct {
    uint32_t chacha[16]; /* ChaCha20 state; [12] is the next block counter */
    uint8_t ks[64];      /* keystream block in use */
    uint32_t ksused;     /* bytes of ks already used (64: none left) */
    sb_poly1305_state poly;
    uint8_t pbuf[16];    /* ciphertext bytes waiting for a full Poly1305 block */
    uint32_t plen;       /* how many (always length % 16) */
    uint64_t length;     /* ciphertext bytes so far */
} sb_aead_stream;

void sb_aead_stream_begin(sb_aead_stream *s, const uint8_t key[32],
                          const uint8_t nonce[12]);

/* Encrypts len bytes of `in` to msg + sb_aead_stream_length(s). */
void sb_aead_stream_update(sb_aead_stream *s, const uint8_t *in, size_t len,
                           uint8_t *msg);

/* Writes the tag at msg + length; wipes the state. Returns the length. */
uint64_t sb_aead_stream_finish(sb_aead_stream *s, uint8_t *msg);

/* Re-seals msg[0..length) under `nonce` and writes its tag; wipes the state. */
uint64_t sb_aead_stream_finish_as(sb_aead_stream *s, const uint8_t nonce[12],
                                  uint8_t *msg);

/* Ciphertext bytes written so far. */
uint64_t sb_aead_stream_length(const sb_aead_stream *s);

/* Building blocks, exported for tests. */

/* One 64-byte ChaCha20 keystream block (RFC 8439 §2.3). */
void sb_chacha20_block(const uint8_t key[32], uint32_t counter,
                       const uint8_t nonce[12], uint8_t out[64]);

/* One-shot Poly1305 (RFC 8439 §2.5) of msg under a 32-byte one-time key. */
void sb_poly1305(const uint8_t key[32], const uint8_t *msg, size_t len,
                 uint8_t tag[16]);

#ifdef __cplusplus
}
#endif

#endif /* SEALBELL_CHACHA20POLY1305_H */
