/*
 * Test driver for hosts/moddable/native/chacha20poly1305.c.
 *
 * Reads requests from stdin until EOF and writes one response per request to
 * stdout. All integers are little-endian u32.
 *
 * Request:  op (1 byte), then by op:
 *   'S' seal          key[32] nonce[12] aadlen aad[aadlen] len data[len]
 *   'I' seal in place same as 'S' (sealed in the input buffer itself)
 *   'O' open          key[32] nonce[12] aadlen aad[aadlen] len sealed[len]
 *                     (len includes the 16-byte tag)
 *   'Q' open in place same as 'O'
 *   'T' incremental   key[32] nonce[12] flags [nonce2[12] if flags & 1]
 *                     count, then count pieces: len data[len]
 *                     (sb_aead_stream_*: flags & 1 finishes under nonce2,
 *                     flags & 2 encrypts each piece in place in the output)
 *   'B' chacha block  key[32] counter nonce[12]
 *   'P' poly1305      key[32] len msg[len]
 * Response: status (1 byte: 0 ok, 1 tag mismatch), len, bytes[len]:
 *   seal, incremental -> ciphertext||tag; open -> the output buffer (zeros on failure);
 *   block -> 64 bytes; poly1305 -> 16-byte tag.
 * A malformed request ends the program with exit status 2.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chacha20poly1305.h"

static void die(const char *msg)
{
    fprintf(stderr, "aead-harness: %s\n", msg);
    exit(2);
}

static void read_exact(void *p, size_t n)
{
    if (n && fread(p, 1, n, stdin) != n)
        die("truncated request");
}

static uint32_t read_u32(void)
{
    uint8_t b[4];
    read_exact(b, 4);
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) |
           ((uint32_t)b[3] << 24);
}

/* Reads a u32 length and that many bytes into a fresh buffer with `extra`
 * spare bytes at the end. */
static uint8_t *read_blob(uint32_t *len, size_t extra)
{
    uint8_t *p;
    *len = read_u32();
    p = malloc((size_t)*len + extra + 1);
    if (!p)
        die("out of memory");
    read_exact(p, *len);
    return p;
}

static void respond(uint8_t status, const uint8_t *data, uint32_t len)
{
    uint8_t h[5];
    h[0] = status;
    h[1] = (uint8_t)len;
    h[2] = (uint8_t)(len >> 8);
    h[3] = (uint8_t)(len >> 16);
    h[4] = (uint8_t)(len >> 24);
    if (fwrite(h, 1, 5, stdout) != 5 || fwrite(data, 1, len, stdout) != len)
        die("write failed");
}

int main(void)
{
    int op;
    while ((op = getchar()) != EOF) {
        uint8_t key[32], nonce[12];
        read_exact(key, 32);
        if (op == 'S' || op == 'I' || op == 'O' || op == 'Q') {
            uint32_t aadlen, len;
            uint8_t *aad, *data;
            read_exact(nonce, 12);
            aad = read_blob(&aadlen, 0);
            data = read_blob(&len, 16);
            if (op == 'S' || op == 'I') {
                uint8_t *out = op == 'I' ? data : malloc((size_t)len + 16);
                if (!out)
                    die("out of memory");
                sb_aead_seal(key, nonce, aad, aadlen, data, len, out);
                respond(0, out, len + 16);
                if (out != data)
                    free(out);
            } else {
                uint8_t *out;
                int rc;
                if (len < 16)
                    die("sealed input shorter than a tag");
                len -= 16;
                /* out-of-place output starts as 0xa5 so zeroing is visible */
                out = op == 'Q' ? data : malloc((size_t)len + 1);
                if (!out)
                    die("out of memory");
                if (out != data)
                    memset(out, 0xa5, len);
                rc = sb_aead_open(key, nonce, aad, aadlen, data, len, out);
                respond(rc == 0 ? 0 : 1, out, len);
                if (out != data)
                    free(out);
            }
            free(aad);
            free(data);
        } else if (op == 'T') {
            sb_aead_stream st;
            uint8_t flags, nonce2[12];
            uint32_t count, k, len;
            uint8_t *msg = NULL;
            size_t total = 0;
            read_exact(nonce, 12);
            read_exact(&flags, 1);
            if (flags & 1)
                read_exact(nonce2, 12);
            count = read_u32();
            sb_aead_stream_begin(&st, key, nonce);
            for (k = 0; k < count; k++) {
                uint8_t *piece = read_blob(&len, 0);
                uint8_t *grown = realloc(msg, total + len + 16);
                if (!grown)
                    die("out of memory");
                msg = grown;
                if (flags & 2) {
                    memcpy(msg + total, piece, len);
                    sb_aead_stream_update(&st, msg + total, len, msg);
                } else {
                    sb_aead_stream_update(&st, piece, len, msg);
                }
                total += len;
                if (sb_aead_stream_length(&st) != total)
                    die("stream length is wrong");
                free(piece);
            }
            if (!msg && !(msg = malloc(16)))
                die("out of memory");
            if ((flags & 1 ? sb_aead_stream_finish_as(&st, nonce2, msg)
                           : sb_aead_stream_finish(&st, msg)) != total)
                die("finish returned the wrong length");
            respond(0, msg, (uint32_t)total + 16);
            free(msg);
        } else if (op == 'B') {
            uint8_t block[64];
            uint32_t counter = read_u32();
            read_exact(nonce, 12);
            sb_chacha20_block(key, counter, nonce, block);
            respond(0, block, 64);
        } else if (op == 'P') {
            uint8_t tag[16];
            uint32_t len;
            uint8_t *msg = read_blob(&len, 0);
            sb_poly1305(key, msg, len, tag);
            respond(0, tag, 16);
            free(msg);
        } else {
            die("unknown op");
        }
    }
    if (fflush(stdout) != 0)
        die("write failed");
    return 0;
}
