/* cmd_keygen.c -- `ferry keygen [-o BASE] [--force]`: create a CURVE key pair for a coordinator or worker */
#include "cli/command.h"
#include "proto/curve.h"
#include "util/common.h"
#include "util/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_BASE "ferry"

static void s_help(void)
{
    printf("usage: ferry keygen [-o BASE] [--force]\n"
           "\n"
           "Create a CURVE key pair for encrypting and authenticating ferry's ZeroMQ traffic:\n"
           "  BASE.key   secret and public key (mode 0600): keep it on this machine\n"
           "  BASE.pub   the public key: give a coordinator's .pub to its workers, and add\n"
           "             each worker's .pub (one key per line) to the coordinator's allow-list\n"
           "\n"
           "  -o BASE    path without extension (default: ./%s)\n"
           "  --force    replace an existing key pair (the old key stops working)\n"
           "\n"
           "Prints the public key. Exit codes: 0 ok, 2 usage error, 3 the files exist\n"
           "(without --force), 4 cannot write them.\n",
           S_DEFAULT_BASE);
}

static int s_run(int argc, char **argv)
{
    const char *base = S_DEFAULT_BASE;
    bool is_forced = false;
    if (ferry_cli_wants_help(argc, argv)) {
        s_help();
        return FERRY_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f")) {
            is_forced = true;
        } else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
            if (i + 1 >= argc || !*argv[i + 1])
                return ferry_cli_usage_error("keygen", "%s needs a path (BASE of BASE.key and BASE.pub)", argv[i]);
            base = argv[++i];
        } else {
            return ferry_cli_usage_error("keygen", "unknown argument '%s'", argv[i]);
        }
    }
    ferry_err_t err;
    int rc = ferry_keys_write_ex(base, is_forced, &err);
    if (rc < 0) {
        fprintf(stderr, "ferry keygen: %s\n", err.msg);
        return rc == -EEXIST ? FERRY_EXIT_INPUT : FERRY_EXIT_RUNTIME;
    }
    char pub[41];
    char *pub_path = ferry_asprintf("%s.pub", base);
    if (ferry_keys_load(pub_path, pub, NULL, &err) < 0) {
        fprintf(stderr, "ferry keygen: %s\n", err.msg);
        free(pub_path);
        return FERRY_EXIT_RUNTIME;
    }
    printf("wrote %s.key (secret, mode 0600) and %s\npublic key: %s\n", base, pub_path, pub);
    free(pub_path);
    return FERRY_EXIT_OK;
}

FERRY_COMMAND(keygen, "keygen", 60, "create a CURVE key pair (BASE.key, BASE.pub) for encrypted, authenticated links",
              s_run)
