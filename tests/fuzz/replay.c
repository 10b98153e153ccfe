/* replay.c -- runs a libFuzzer target's entry point over files, without libFuzzer: each fuzz
 * target is also linked with this driver by the ordinary compiler, so `make test` (and
 * `make test SAN=1`, under AddressSanitizer + UBSan) replays every committed seed and
 * regression input on every run, not only when clang's fuzzers run.
 *
 *   replay_fuzz_X FILE|DIR...    exit 0 when every input ran to its end */
#include "util/file.h"
#include "util/mem.h"

#include <dirent.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

/* Seeds are small; anything larger is not one of ours. */
#define S_MAX_INPUT (64u << 20)

static int s_replay_file(const char *path, unsigned *count)
{
    char *data = NULL;
    size_t n = 0;
    int rc = ferry_file_read(path, S_MAX_INPUT, &data, &n);
    if (rc < 0) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(-rc));
        return -1;
    }
    /* a copy of exactly n bytes (the read adds a NUL), so a read past the input is a
     * sanitizer report */
    uint8_t *input = ferry_malloc(n ? n : 1);
    memcpy(input, data, n);
    free(data);
    fprintf(stderr, "replay: %s (%zu bytes)\n", path, n);
    LLVMFuzzerTestOneInput(input, n);
    free(input);
    (*count)++;
    return 0;
}

static int s_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int s_replay_dir(const char *dir, unsigned *count)
{
    DIR *d = opendir(dir);
    if (!d) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        char **grown = realloc(names, (n + 1) * sizeof *names);
        if (!grown)
            break;
        names = grown;
        names[n] = malloc(strlen(dir) + strlen(e->d_name) + 2);
        if (!names[n])
            break;
        sprintf(names[n], "%s/%s", dir, e->d_name);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof *names, s_cmp); /* the same order on every machine */
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        if (rc == 0 && s_replay_file(names[i], count) < 0)
            rc = -1;
        free(names[i]);
    }
    free(names);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
        return 2;
    }
    if (LLVMFuzzerInitialize)
        LLVMFuzzerInitialize(&argc, &argv);
    unsigned count = 0;
    for (int i = 1; i < argc; i++) {
        struct stat st;
        int rc = stat(argv[i], &st) < 0          ? (fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno)), -1)
                 : S_ISDIR(st.st_mode) ? s_replay_dir(argv[i], &count)
                                       : s_replay_file(argv[i], &count);
        if (rc < 0)
            return 1;
    }
    printf("replayed %u inputs\n", count);
    return 0;
}
