/*
 * ChaCha20-Poly1305 AEAD (RFC 8439), portable C99.
 *
 * - ChaCha20: the plain 32-bit block function, one 64-byte block at a time.
 * - Poly1305: 26-bit limbs with 32x32->64-bit products (the "donna 32-bit"
 *   layout), which suits 32-bit cores such as the ESP32's Xtensa LX6/LX7.
 * - The AEAD walks the data once: each 64-byte keystream block is XORed into
 *   the output and the 64 ciphertext bytes go straight into Poly1305 while
 *   they are still in cache. That also makes in-place operation (in == out)
 *   work for both sealing and opening.
 * - Incremental sealing (sb_aead_stream_*) runs the same block loop on each
 *   piece, keeping the rest of a keystream block and of a Poly1305 block
 *   between pieces, so video is sealed as it arrives without a plaintext
 *   buffer.
 *
 * Bytes are loaded and stored one at a time (little-endian), so buffers
 * need no alignment; compilers fold these into single word accesses where
 * the target allows it.
 */
#include "chacha20poly1305.h"

#include <string.h>

/* ---- helpers ------------------------------------------------------------ */

static uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static void st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static void st64(uint8_t *p, uint64_t v)
{
    st32(p, (uint32_t)v);
    st32(p + 4, (uint32_t)(v >> 32));
}

/* Zeroes secrets in a way the compiler may not drop as a dead store. */
static void wipe(void *p, size_t n)
{
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--)
        *v++ = 0;
}

/* ---- ChaCha20 ----------------------------------------------------------- */

#define ROTL32(v, n) (((v) << (n)) | ((v) >> (32 - (n))))

#define QR(a, b, c, d)                     \
    do {                                   \
        a += b; d ^= a; d = ROTL32(d, 16); \
        c += d; b ^= c; b = ROTL32(b, 12); \
        a += b; d ^= a; d = ROTL32(d, 8);  \
        c += d; b ^= c; b = ROTL32(b, 7);  \
    } while (0)

/* State layout: 4 constants, 8 key words, block counter, 3 nonce words. */
static void chacha_init(uint32_t st[16], const uint8_t key[32],
                        uint32_t counter, const uint8_t nonce[12])
{
    int i;
    st[0] = 0x61707865; /* "expand 32-byte k" */
    st[1] = 0x3320646e;
    st[2] = 0x79622d32;
    st[3] = 0x6b206574;
    for (i = 0; i < 8; i++)
        st[4 + i] = ld32(key + 4 * i);
    st[12] = counter;
    st[13] = ld32(nonce);
    st[14] = ld32(nonce + 4);
    st[15] = ld32(nonce + 8);
}

/*
 * out[0..64) = in[0..64) XOR keystream block of st (the 20-round block
 * function plus the feed-forward of st). in == out is fine: each word is
 * read before it is written.
 */
static void chacha_xor64(const uint32_t st[16], const uint8_t *in, uint8_t *out)
{
    uint32_t x0 = st[0], x1 = st[1], x2 = st[2], x3 = st[3];
    uint32_t x4 = st[4], x5 = st[5], x6 = st[6], x7 = st[7];
    uint32_t x8 = st[8], x9 = st[9], x10 = st[10], x11 = st[11];
    uint32_t x12 = st[12], x13 = st[13], x14 = st[14], x15 = st[15];
    int i;

    for (i = 0; i < 10; i++) {
        /* column round */
        QR(x0, x4, x8, x12);
        QR(x1, x5, x9, x13);
        QR(x2, x6, x10, x14);
        QR(x3, x7, x11, x15);
        /* diagonal round */
        QR(x0, x5, x10, x15);
        QR(x1, x6, x11, x12);
        QR(x2, x7, x8, x13);
        QR(x3, x4, x9, x14);
    }
#define OUT(i, x) st32(out + 4 * (i), ld32(in + 4 * (i)) ^ ((x) + st[i]))
    OUT(0, x0);   OUT(1, x1);   OUT(2, x2);   OUT(3, x3);
    OUT(4, x4);   OUT(5, x5);   OUT(6, x6);   OUT(7, x7);
    OUT(8, x8);   OUT(9, x9);   OUT(10, x10); OUT(11, x11);
    OUT(12, x12); OUT(13, x13); OUT(14, x14); OUT(15, x15);
#undef OUT
}

/* Keystream block for st as 64 bytes (XOR into zeros). */
static void chacha_block_bytes(const uint32_t st[16], uint8_t out[64])
{
    memset(out, 0, 64);
    chacha_xor64(st, out, out);
}

void sb_chacha20_block(const uint8_t key[32], uint32_t counter,
                       const uint8_t nonce[12], uint8_t out[64])
{
    uint32_t st[16];
    chacha_init(st, key, counter, nonce);
    chacha_block_bytes(st, out);
    wipe(st, sizeof st);
}

/* ---- Poly1305 ----------------------------------------------------------- */

/*
 * The accumulator h and the clamped key r are kept as five 26-bit limbs
 * (value = sum limb[i] * 2^(26 i)). Products of two limbs fit in 52 bits and
 * five of them (with the *5 reduction factor) comfortably in 64 bits.
 */
typedef sb_poly1305_state poly1305; /* r, h (slightly over 26 bits after blocks), s */

#define M26 0x3ffffffu

static void poly_init(poly1305 *p, const uint8_t key[32])
{
    /* r &= 0x0ffffffc0ffffffc0ffffffc0fffffff, split into 26-bit limbs. */
    p->r[0] = ld32(key + 0) & 0x3ffffff;
    p->r[1] = (ld32(key + 3) >> 2) & 0x3ffff03;
    p->r[2] = (ld32(key + 6) >> 4) & 0x3ffc0ff;
    p->r[3] = (ld32(key + 9) >> 6) & 0x3f03fff;
    p->r[4] = (ld32(key + 12) >> 8) & 0x00fffff;
    p->h[0] = p->h[1] = p->h[2] = p->h[3] = p->h[4] = 0;
    p->pad[0] = ld32(key + 16);
    p->pad[1] = ld32(key + 20);
    p->pad[2] = ld32(key + 24);
    p->pad[3] = ld32(key + 28);
}

/*
 * Absorbs nblocks 16-byte blocks: h = (h + block + hibit * 2^128) * r mod p,
 * with p = 2^130 - 5. hibit is 1 for full blocks (2^24 in limb 4), 0 for the
 * final, already 0x01-terminated partial block of plain Poly1305.
 */
static void poly_blocks(poly1305 *p, const uint8_t *m, size_t nblocks,
                        uint32_t hibit)
{
    /*
     * Limbs are held in uint_fast32_t: 32 bits on 32-bit cores, 64 bits on
     * x86-64 (no zero-extension before each 64-bit multiply). Every value
     * here stays below 2^32, so both widths compute the same thing.
     */
    const uint_fast32_t r0 = p->r[0], r1 = p->r[1], r2 = p->r[2],
                        r3 = p->r[3], r4 = p->r[4];
    /* 2^130 = 5 (mod p): limbs that overflow past 2^130 come back times 5. */
    const uint_fast32_t s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
    const uint_fast32_t hb = (uint_fast32_t)hibit << 24;
    uint_fast32_t h0 = p->h[0], h1 = p->h[1], h2 = p->h[2], h3 = p->h[3],
                  h4 = p->h[4];
    const uint8_t *end = m + 16 * nblocks;

    while (m != end) {
        uint64_t d0, d1, d2, d3, d4;
        uint_fast32_t c;

        /* h += m */
        h0 += ld32(m + 0) & M26;
        h1 += (ld32(m + 3) >> 2) & M26;
        h2 += (ld32(m + 6) >> 4) & M26;
        h3 += (ld32(m + 9) >> 6) & M26;
        h4 += (ld32(m + 12) >> 8) | hb;

        /* h *= r (schoolbook, reduced on the fly) */
        d0 = (uint64_t)h0 * r0 + (uint64_t)h1 * s4 + (uint64_t)h2 * s3 +
             (uint64_t)h3 * s2 + (uint64_t)h4 * s1;
        d1 = (uint64_t)h0 * r1 + (uint64_t)h1 * r0 + (uint64_t)h2 * s4 +
             (uint64_t)h3 * s3 + (uint64_t)h4 * s2;
        d2 = (uint64_t)h0 * r2 + (uint64_t)h1 * r1 + (uint64_t)h2 * r0 +
             (uint64_t)h3 * s4 + (uint64_t)h4 * s3;
        d3 = (uint64_t)h0 * r3 + (uint64_t)h1 * r2 + (uint64_t)h2 * r1 +
             (uint64_t)h3 * r0 + (uint64_t)h4 * s4;
        d4 = (uint64_t)h0 * r4 + (uint64_t)h1 * r3 + (uint64_t)h2 * r2 +
             (uint64_t)h3 * r1 + (uint64_t)h4 * r0;

        /* partial carry propagation back to 26-bit limbs */
        c = (uint_fast32_t)(d0 >> 26); h0 = (uint_fast32_t)d0 & M26;
        d1 += c; c = (uint_fast32_t)(d1 >> 26); h1 = (uint_fast32_t)d1 & M26;
        d2 += c; c = (uint_fast32_t)(d2 >> 26); h2 = (uint_fast32_t)d2 & M26;
        d3 += c; c = (uint_fast32_t)(d3 >> 26); h3 = (uint_fast32_t)d3 & M26;
        d4 += c; c = (uint_fast32_t)(d4 >> 26); h4 = (uint_fast32_t)d4 & M26;
        h0 += c * 5; c = h0 >> 26; h0 &= M26;
        h1 += c;

        m += 16;
    }
    p->h[0] = (uint32_t)h0; p->h[1] = (uint32_t)h1; p->h[2] = (uint32_t)h2;
    p->h[3] = (uint32_t)h3; p->h[4] = (uint32_t)h4;
}

/* Absorbs len bytes zero-padded to a multiple of 16 (the AEAD layout). */
static void poly_padded(poly1305 *p, const uint8_t *m, size_t len)
{
    size_t full = len / 16;
    poly_blocks(p, m, full, 1);
    len -= full * 16;
    if (len) {
        uint8_t b[16] = {0};
        memcpy(b, m + full * 16, len);
        poly_blocks(p, b, 1, 1);
    }
}

/* tag = (h mod p) + s mod 2^128; wipes the state. */
static void poly_finish(poly1305 *p, uint8_t tag[16])
{
    uint32_t h0 = p->h[0], h1 = p->h[1], h2 = p->h[2], h3 = p->h[3],
             h4 = p->h[4];
    uint32_t g0, g1, g2, g3, g4, c, mask;
    uint64_t f;

    /* full carry: every limb below 2^26 (h4 may still hold a bit of 2^130) */
    c = h1 >> 26; h1 &= M26;
    h2 += c; c = h2 >> 26; h2 &= M26;
    h3 += c; c = h3 >> 26; h3 &= M26;
    h4 += c; c = h4 >> 26; h4 &= M26;
    h0 += c * 5; c = h0 >> 26; h0 &= M26;
    h1 += c;

    /* g = h + 5 - 2^130; if that does not borrow, h >= p and h - p = g */
    g0 = h0 + 5; c = g0 >> 26; g0 &= M26;
    g1 = h1 + c; c = g1 >> 26; g1 &= M26;
    g2 = h2 + c; c = g2 >> 26; g2 &= M26;
    g3 = h3 + c; c = g3 >> 26; g3 &= M26;
    g4 = h4 + c - (1u << 26);

    /* constant-time select: mask = all ones if g4 did not borrow */
    mask = (g4 >> 31) - 1;
    h0 = (h0 & ~mask) | (g0 & mask);
    h1 = (h1 & ~mask) | (g1 & mask);
    h2 = (h2 & ~mask) | (g2 & mask);
    h3 = (h3 & ~mask) | (g3 & mask);
    h4 = (h4 & ~mask) | (g4 & mask);

    /* repack into four 32-bit words: h mod 2^128 */
    h0 = h0 | (h1 << 26);
    h1 = (h1 >> 6) | (h2 << 20);
    h2 = (h2 >> 12) | (h3 << 14);
    h3 = (h3 >> 18) | (h4 << 8);

    /* tag = h + s mod 2^128 */
    f = (uint64_t)h0 + p->pad[0];             st32(tag + 0, (uint32_t)f);
    f = (uint64_t)h1 + p->pad[1] + (f >> 32); st32(tag + 4, (uint32_t)f);
    f = (uint64_t)h2 + p->pad[2] + (f >> 32); st32(tag + 8, (uint32_t)f);
    f = (uint64_t)h3 + p->pad[3] + (f >> 32); st32(tag + 12, (uint32_t)f);

    wipe(p, sizeof *p);
}

void sb_poly1305(const uint8_t key[32], const uint8_t *msg, size_t len,
                 uint8_t tag[16])
{
    poly1305 p;
    size_t full = len / 16;
    poly_init(&p, key);
    poly_blocks(&p, msg, full, 1);
    len -= full * 16;
    if (len) {
        /* last partial block: the message bytes, then 0x01, then zeros */
        uint8_t b[16] = {0};
        memcpy(b, msg + full * 16, len);
        b[len] = 1;
        poly_blocks(&p, b, 1, 0);
    }
    poly_finish(&p, tag);
}

/* ---- AEAD (RFC 8439 §2.8) ----------------------------------------------- */

/* Derives the one-time Poly1305 key (block 0) and absorbs the padded AAD. */
static void aead_start(uint32_t st[16], poly1305 *p, const uint8_t key[32],
                       const uint8_t nonce[12], const uint8_t *aad,
                       size_t aadlen)
{
    uint8_t block0[64];
    chacha_init(st, key, 0, nonce);
    chacha_block_bytes(st, block0);
    poly_init(p, block0); /* only the first 32 bytes are used */
    wipe(block0, sizeof block0);
    if (aadlen)
        poly_padded(p, aad, aadlen);
    st[12] = 1; /* the payload starts at block counter 1 */
}

/* Absorbs the length block (le64 aadlen, le64 ctlen) and outputs the tag. */
static void aead_finish(poly1305 *p, uint64_t aadlen, uint64_t len,
                        uint8_t tag[16])
{
    uint8_t lens[16];
    st64(lens, aadlen);
    st64(lens + 8, len);
    poly_blocks(p, lens, 1, 1);
    poly_finish(p, tag);
}

void sb_aead_seal(const uint8_t key[32], const uint8_t nonce[12],
                  const uint8_t *aad, size_t aadlen,
                  const uint8_t *in, size_t len, uint8_t *out)
{
    uint32_t st[16];
    poly1305 p;
    uint8_t tag[16];
    size_t left = len;
    uint8_t *o = out;

    aead_start(st, &p, key, nonce, aad, aadlen);

    /* encrypt a block, then MAC its ciphertext */
    while (left >= 64) {
        chacha_xor64(st, in, o);
        st[12]++;
        poly_blocks(&p, o, 4, 1);
        in += 64;
        o += 64;
        left -= 64;
    }
    if (left) {
        uint8_t ks[64];
        size_t i;
        chacha_block_bytes(st, ks);
        for (i = 0; i < left; i++)
            o[i] = in[i] ^ ks[i];
        wipe(ks, sizeof ks);
        poly_padded(&p, o, left);
    }

    aead_finish(&p, aadlen, len, tag);
    memcpy(out + len, tag, 16);
    wipe(st, sizeof st);
}

int sb_aead_open(const uint8_t key[32], const uint8_t nonce[12],
                 const uint8_t *aad, size_t aadlen,
                 const uint8_t *in, size_t len, uint8_t *out)
{
    uint32_t st[16];
    poly1305 p;
    uint8_t expected[16], tag[16];
    size_t left = len, i;
    uint8_t *o = out;
    uint32_t diff = 0;

    memcpy(expected, in + len, 16);
    aead_start(st, &p, key, nonce, aad, aadlen);

    /* MAC a ciphertext block before decrypting it (it may be overwritten) */
    while (left >= 64) {
        poly_blocks(&p, in, 4, 1);
        chacha_xor64(st, in, o);
        st[12]++;
        in += 64;
        o += 64;
        left -= 64;
    }
    if (left) {
        uint8_t ks[64];
        poly_padded(&p, in, left);
        chacha_block_bytes(st, ks);
        for (i = 0; i < left; i++)
            o[i] = in[i] ^ ks[i];
        wipe(ks, sizeof ks);
    }

    aead_finish(&p, aadlen, len, tag);
    wipe(st, sizeof st);

    /* constant-time comparison */
    for (i = 0; i < 16; i++)
        diff |= (uint32_t)(tag[i] ^ expected[i]);
    if (diff != 0) {
        memset(out, 0, len);
        return -1;
    }
    return 0;
}

/* ---- incremental sealing ------------------------------------------------ */

/*
 * Invariants between calls: plen == length % 16 (whole Poly1305 blocks are
 * absorbed as soon as they exist) and ksused == 64 exactly when length is a
 * multiple of 64, so at a keystream block boundary the Poly1305 buffer is
 * empty and whole blocks take the same path as sb_aead_seal.
 */

/* Absorbs n ciphertext bytes into Poly1305, keeping a partial block back. */
static void stream_absorb(sb_aead_stream *s, const uint8_t *c, size_t n)
{
    size_t full;
    if (s->plen) {
        size_t take = 16 - s->plen;
        if (take > n)
            take = n;
        memcpy(s->pbuf + s->plen, c, take);
        s->plen += (uint32_t)take;
        c += take;
        n -= take;
        if (s->plen < 16)
            return;
        poly_blocks(&s->poly, s->pbuf, 1, 1);
        s->plen = 0;
    }
    full = n / 16;
    poly_blocks(&s->poly, c, full, 1);
    c += 16 * full;
    n -= 16 * full;
    if (n) {
        memcpy(s->pbuf, c, n);
        s->plen = (uint32_t)n;
    }
}

void sb_aead_stream_begin(sb_aead_stream *s, const uint8_t key[32],
                          const uint8_t nonce[12])
{
    aead_start(s->chacha, &s->poly, key, nonce, NULL, 0);
    s->ksused = 64;
    s->plen = 0;
    s->length = 0;
}

void sb_aead_stream_update(sb_aead_stream *s, const uint8_t *in, size_t len,
                           uint8_t *msg)
{
    uint8_t *o = msg + s->length;
    size_t i;

    s->length += len;
    if (s->ksused < 64 && len) {
        /* finish the keystream block an earlier piece started */
        size_t n = 64 - s->ksused;
        if (n > len)
            n = len;
        for (i = 0; i < n; i++)
            o[i] = in[i] ^ s->ks[s->ksused + i];
        s->ksused += (uint32_t)n;
        stream_absorb(s, o, n);
        in += n;
        o += n;
        len -= n;
    }
    /* whole blocks, as in sb_aead_seal (plen is 0 here) */
    while (len >= 64) {
        chacha_xor64(s->chacha, in, o);
        s->chacha[12]++;
        poly_blocks(&s->poly, o, 4, 1);
        in += 64;
        o += 64;
        len -= 64;
    }
    if (len) {
        /* start a keystream block; the next piece uses the rest */
        chacha_block_bytes(s->chacha, s->ks);
        s->chacha[12]++;
        for (i = 0; i < len; i++)
            o[i] = in[i] ^ s->ks[i];
        s->ksused = (uint32_t)len;
        stream_absorb(s, o, len);
    }
}

uint64_t sb_aead_stream_length(const sb_aead_stream *s)
{
    return s->length;
}

uint64_t sb_aead_stream_finish(sb_aead_stream *s, uint8_t *msg)
{
    uint64_t len = s->length;
    uint8_t tag[16];

    if (s->plen) {
        /* the AEAD pads the ciphertext with zeros to a whole block */
        memset(s->pbuf + s->plen, 0, 16 - s->plen);
        poly_blocks(&s->poly, s->pbuf, 1, 1);
    }
    aead_finish(&s->poly, 0, len, tag);
    memcpy(msg + len, tag, 16);
    wipe(tag, sizeof tag);
    wipe(s, sizeof *s);
    return len;
}

uint64_t sb_aead_stream_finish_as(sb_aead_stream *s, const uint8_t nonce[12],
                                  uint8_t *msg)
{
    uint64_t len = s->length;
    size_t left = (size_t)len, i;
    uint8_t *p = msg;
    uint8_t key[32];

    /* XOR with the old keystream again: the plaintext is back */
    s->chacha[12] = 1;
    while (left >= 64) {
        chacha_xor64(s->chacha, p, p);
        s->chacha[12]++;
        p += 64;
        left -= 64;
    }
    if (left) {
        chacha_block_bytes(s->chacha, s->ks);
        for (i = 0; i < left; i++)
            p[i] ^= s->ks[i];
    }
    for (i = 0; i < 8; i++)
        st32(key + 4 * i, s->chacha[4 + i]);
    wipe(s, sizeof *s);
    sb_aead_seal(key, nonce, NULL, 0, msg, (size_t)len, msg);
    wipe(key, sizeof key);
    return len;
}
