/*
 * ChaCha20-Poly1305 AEAD (RFC 8439): 32-byte key, 12-byte nonce, optional
 * AAD, 16-byte tag. Portable C99, no allocation, no platform includes.
 * Output is byte-identical to noble's chacha20poly1305.
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
