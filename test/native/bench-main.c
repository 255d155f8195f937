/*
 * Benchmark driver for the native AEAD: `bench-main N [oneshot]` seals N
 * chunks of 64 KiB (fresh nonce each) and prints a checksum so nothing can be
 * optimised away. Run it under callgrind with N and with 0 to get the
 * per-byte cost without startup.
 *
 * By default it seals the way the clip sealer does on the device: each chunk
 * incrementally (sb_aead_stream_*) from pieces shaped like the frame stream —
 * a 27-byte container prefix, then a 40,000-byte JPEG, the JPEG split where a
 * chunk fills. `oneshot` seals each chunk in place with sb_aead_seal instead.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "chacha20poly1305.h"

#define CHUNK 65536
#define PREFIX 27
#define FRAME 40000

int main(int argc, char **argv)
{
    static uint8_t buf[CHUNK + 16];
    static uint8_t frame[PREFIX + FRAME];
    uint8_t key[32], nonce[12] = {0};
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 16;
    int oneshot = argc > 2 && !strcmp(argv[2], "oneshot");
    uint32_t sum = 0;
    long i;

    for (i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 7 + 1);
    for (i = 0; i < (long)sizeof frame; i++)
        frame[i] = (uint8_t)i;
    if (oneshot) {
        memcpy(buf, frame, CHUNK < sizeof frame ? CHUNK : sizeof frame);
        for (i = 0; i < n; i++) {
            nonce[0] = (uint8_t)i;
            nonce[1] = (uint8_t)(i >> 8);
            sb_aead_seal(key, nonce, NULL, 0, buf, CHUNK, buf);
            sum += buf[CHUNK + 15];
        }
    } else {
        sb_aead_stream st;
        size_t at = 0; /* position in the current piece pair (prefix + frame) */
        for (i = 0; i < n; i++) {
            size_t fill = 0;
            nonce[0] = (uint8_t)i;
            nonce[1] = (uint8_t)(i >> 8);
            sb_aead_stream_begin(&st, key, nonce);
            while (fill < CHUNK) {
                /* the rest of the prefix, or the rest of the frame */
                size_t end = at < PREFIX ? PREFIX : sizeof frame;
                size_t take = end - at;
                if (take > CHUNK - fill)
                    take = CHUNK - fill;
                sb_aead_stream_update(&st, frame + at, take, buf);
                fill += take;
                at = (at + take) % sizeof frame;
            }
            sb_aead_stream_finish(&st, buf);
            sum += buf[CHUNK + 15];
        }
    }
    printf("%ld chunks (%s), checksum %u\n", n, oneshot ? "one-shot" : "incremental",
           (unsigned)sum);
    return 0;
}
