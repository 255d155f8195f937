/*
 * Benchmark driver for the native AEAD: `bench-main N` seals N chunks of
 * 64 KiB in place (fresh nonce each time) and prints a checksum so nothing
 * can be optimised away. Run it under callgrind with N and with 0 to get the
 * per-byte cost without startup.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "chacha20poly1305.h"

#define CHUNK 65536

int main(int argc, char **argv)
{
    static uint8_t buf[CHUNK + 16];
    uint8_t key[32], nonce[12] = {0};
    long n = argc > 1 ? strtol(argv[1], NULL, 10) : 16;
    uint32_t sum = 0;
    long i;

    for (i = 0; i < 32; i++)
        key[i] = (uint8_t)(i * 7 + 1);
    for (i = 0; i < CHUNK; i++)
        buf[i] = (uint8_t)i;
    for (i = 0; i < n; i++) {
        nonce[0] = (uint8_t)i;
        nonce[1] = (uint8_t)(i >> 8);
        sb_aead_seal(key, nonce, NULL, 0, buf, CHUNK, buf);
        sum += buf[CHUNK + 15];
    }
    printf("%ld chunks, checksum %u\n", n, (unsigned)sum);
    return 0;
}
