/*
 * fuzz-smoke.c: runs the fuzz target of fuzz-proto.c without libFuzzer, so
 * it runs in every `meson test` with any compiler: over the seed corpus
 * (the files in the directory given as argument), then over deterministic
 * pseudo-random mutations of it (bit flips, interesting bytes, truncations,
 * insertions, splices).  Prints TAP.
 *
 * Usage: fuzz-smoke CORPUS-DIR [ROUNDS]
 */
#include "proto.h"

#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX (NUBE_AGENT_MAX_LINE + 4096)
#define MAX_SEEDS 128
#define ROUNDS    50000

typedef struct {
    uint8_t *data;
    size_t len;
} Seed;

static uint64_t rng_state = 0x9e3779b97f4a7c15u;

static uint32_t rnd(uint32_t n)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return n ? (uint32_t) (rng_state % n) : 0;
}

static size_t load_corpus(const char *dir, Seed *seeds)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    size_t n = 0;
    struct dirent *e;
    while (n < MAX_SEEDS && (e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        char path[4096];
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        if (f == NULL)
            continue;
        seeds[n].data = malloc(INPUT_MAX);
        seeds[n].len = fread(seeds[n].data, 1, INPUT_MAX, f);
        fclose(f);
        n++;
    }
    closedir(d);
    return n;
}

static void mutate(uint8_t *buf, size_t *len, const Seed *seeds, size_t nseeds)
{
    static const uint8_t interesting[] = { '"',  '{',  '}',  '[',  ']',  '\\', ':',  ',',
                                           '0',  '9',  '-',  'e',  '.',  'u',  '\n', 0,
                                           0x80, 0xc3, 0xed, 0xf4, 0xff, ' ',  't',  'n' };
    int steps = 1 + (int) rnd(4);
    for (int i = 0; i < steps; i++) {
        size_t at = rnd((uint32_t) *len + 1);
        switch (rnd(6)) {
        case 0: /* bit flip */
            if (*len > 0)
                buf[at % *len] ^= (uint8_t) (1u << rnd(8));
            break;
        case 1: /* an interesting byte */
            if (*len > 0)
                buf[at % *len] = interesting[rnd(sizeof(interesting))];
            break;
        case 2: /* truncation */
            *len = at;
            break;
        case 3: { /* insertion of a few bytes */
            size_t n = 1 + rnd(8);
            if (*len + n > INPUT_MAX)
                break;
            memmove(buf + at + n, buf + at, *len - at);
            for (size_t k = 0; k < n; k++)
                buf[at + k] = rnd(2) ? interesting[rnd(sizeof(interesting))] : (uint8_t) rnd(256);
            *len += n;
            break;
        }
        case 4: { /* deletion */
            size_t n = rnd(16);
            if (at + n > *len)
                n = *len - at;
            memmove(buf + at, buf + at + n, *len - at - n);
            *len -= n;
            break;
        }
        default: { /* splice a piece of another seed in */
            const Seed *o = &seeds[rnd((uint32_t) nseeds)];
            size_t from = rnd((uint32_t) o->len + 1), n = rnd((uint32_t) (o->len - from) + 1);
            if (*len + n > INPUT_MAX)
                break;
            memmove(buf + at + n, buf + at, *len - at);
            memcpy(buf + at, o->data + from, n);
            *len += n;
            break;
        }
        }
    }
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: fuzz-smoke CORPUS-DIR [ROUNDS]\n");
        return 2;
    }
    long rounds = argc > 2 ? strtol(argv[2], NULL, 10) : ROUNDS;
    static Seed seeds[MAX_SEEDS];
    size_t nseeds = load_corpus(argv[1], seeds);
    printf("1..2\n");
    if (nseeds == 0) {
        printf("not ok 1 - no seeds in '%s'\n", argv[1]);
        return 1;
    }
    for (size_t i = 0; i < nseeds; i++)
        LLVMFuzzerTestOneInput(seeds[i].data, seeds[i].len);
    printf("ok 1 - %zu seeds\n", nseeds);

    static uint8_t buf[INPUT_MAX];
    for (long r = 0; r < rounds; r++) {
        const Seed *s = &seeds[rnd((uint32_t) nseeds)];
        size_t len = s->len;
        memcpy(buf, s->data, len);
        mutate(buf, &len, seeds, nseeds);
        /* A copy of exactly LEN bytes, so a sanitizer sees any overread. */
        uint8_t *input = malloc(len ? len : 1);
        memcpy(input, buf, len);
        LLVMFuzzerTestOneInput(input, len);
        free(input);
    }
    printf("ok 2 - %ld mutations\n", rounds);
    for (size_t i = 0; i < nseeds; i++)
        free(seeds[i].data);
    return 0;
}
