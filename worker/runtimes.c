/* runtimes.c -- detect the runners this machine can run (ONNX Runtime on Node.js and Python) */
#include "worker/runtimes.h"

#include "util/file.h"
#include "util/mem.h"
#include "worker/capture.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S_PACKAGE_JSON_MAX 65536
#define S_VERSION_MAX 64

/* A version such as "1.30.0": digits, dots, letters, '-', '+'; NULL otherwise. */
static char *s_version(const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s))
        s++, len--;
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (!len || len > S_VERSION_MAX || !isdigit((unsigned char)*s))
        return NULL;
    for (size_t i = 0; i < len; i++)
        if (!isalnum((unsigned char)s[i]) && !strchr(".-+", s[i]))
            return NULL;
    return ferry_strndup(s, len);
}

/* "version" of a package.json, by a bounded scan (the file is the installed package's). */
static char *s_package_version(const char *path)
{
    char *data = NULL, *version = NULL;
    size_t len = 0;
    if (ferry_file_read(path, S_PACKAGE_JSON_MAX, &data, &len) < 0)
        return NULL;
    const char *key = strstr(data, "\"version\"");
    if (key) {
        const char *q1 = strchr(key + 9, '"');
        const char *q2 = q1 ? strchr(q1 + 1, '"') : NULL;
        if (q1 && q2)
            version = s_version(q1 + 1, (size_t)(q2 - q1 - 1));
    }
    free(data);
    return version;
}

char *ferry_runners_dir(void)
{
    const char *env = getenv("FERRY_RUNNERS_DIR");
    if (env && *env)
        return ferry_strdup(env);
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) {
            *slash = '\0';
            /* installed: bin/ferry next to share-like ../runners; build tree: build/ferry */
            const char *candidates[] = {"%s/../runners", "%s/../../runners", "%s/runners"};
            for (size_t i = 0; i < FERRY_ARRAY_LEN(candidates); i++) {
                char *dir = ferry_asprintf(candidates[i], exe);
                char *readme = ferry_asprintf("%s/README.md", dir);
                bool is_found = access(readme, R_OK) == 0;
                free(readme);
                char *resolved = is_found ? realpath(dir, NULL) : NULL; /* no "build/.." in programs */
                if (resolved) {
                    free(dir);
                    return resolved;
                }
                free(dir);
            }
        }
    }
    return ferry_strdup("runners");
}

static void s_push(ferry_runtime_t **out, size_t *n, const char *name, const char *version, char *program)
{
    *out = ferry_reallocarray(*out, *n + 1, sizeof **out);
    (*out)[*n] = (ferry_runtime_t){ferry_strdup(name), version ? ferry_strdup(version) : NULL, program};
    (*n)++;
}

static void s_detect_node(const char *dir, ferry_runtime_t **out, size_t *n)
{
    char *runner = ferry_asprintf("%s/ort-node/runner.js", dir);
    char *package = ferry_asprintf("%s/ort-node/node_modules/onnxruntime-node/package.json", dir);
    char *version = NULL, *output = NULL;
    size_t len;
    char *argv[] = {"node", "--version", NULL};
    if (access(runner, R_OK) == 0 && (version = s_package_version(package)) &&
        ferry_capture_run(argv, FERRY_RUNTIMES_TIMEOUT_MS, FERRY_RUNTIMES_MAX_OUTPUT, &output, &len) == 0)
        s_push(out, n, "ort-node", version, ferry_asprintf("node %s", runner));
    free(output);
    free(version);
    free(runner);
    free(package);
}

static void s_detect_python(const char *dir, ferry_runtime_t **out, size_t *n)
{
    const char *python = getenv("FERRY_ORT_PYTHON");
    if (!python || !*python)
        python = "python3";
    char *runner = ferry_asprintf("%s/ort-python/runner.py", dir);
    char *argv[] = {(char *)python, "-c",
                    "import onnxruntime as o\nprint(o.__version__)\nprint(','.join(o.get_available_providers()))",
                    NULL};
    char *output = NULL;
    size_t len;
    if (access(runner, R_OK) == 0 &&
        ferry_capture_run(argv, FERRY_RUNTIMES_TIMEOUT_MS, FERRY_RUNTIMES_MAX_OUTPUT, &output, &len) == 0) {
        /* line 1: version; line 2: providers, comma-separated */
        char *nl = strchr(output, '\n');
        char *version = s_version(output, nl ? (size_t)(nl - output) : len);
        const char *providers = nl ? nl + 1 : "";
        bool has_cpu = strstr(providers, "CPUExecutionProvider") != NULL;
        bool has_cuda = strstr(providers, "CUDAExecutionProvider") != NULL;
        if (version && has_cpu)
            s_push(out, n, "ort-python", version, ferry_asprintf("%s %s", python, runner));
        if (version && has_cuda)
            s_push(out, n, "ort-python-cuda", version,
                   ferry_asprintf("%s %s --provider CUDAExecutionProvider", python, runner));
        free(version);
    }
    free(output);
    free(runner);
}

int ferry_runtimes_detect(const char *runners_dir, ferry_runtime_t **out, size_t *n)
{
    char *dir = runners_dir ? ferry_strdup(runners_dir) : ferry_runners_dir();
    *out = NULL;
    *n = 0;
    s_detect_node(dir, out, n);
    s_detect_python(dir, out, n);
    free(dir);
    return (int)*n;
}

void ferry_runtimes_free(ferry_runtime_t *rt, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rt[i].name);
        free(rt[i].version);
        free(rt[i].program);
    }
    free(rt);
}

void ferry_runtimes_to_json(const ferry_runtime_t *rt, size_t n, ferry_json_t *j)
{
    ferry_json_arr_begin(j);
    for (size_t i = 0; i < n; i++) {
        ferry_json_obj_begin(j);
        ferry_json_key(j, "name");
        ferry_json_str(j, rt[i].name);
        ferry_json_key(j, "version");
        if (rt[i].version)
            ferry_json_str(j, rt[i].version);
        else
            ferry_json_null(j);
        ferry_json_key(j, "program");
        ferry_json_str(j, rt[i].program);
        ferry_json_obj_end(j);
    }
    ferry_json_arr_end(j);
}
