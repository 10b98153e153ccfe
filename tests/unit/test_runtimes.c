/* test_runtimes.c -- unit tests for worker/runtimes: detection with stand-in node and
 * python programs and a stand-in runners folder (versions, CUDA, broken interpreters) */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/file.h"
#include "util/mem.h"
#include "worker/runtimes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char s_dir[64];

static void s_write(const char *rel, const char *text, mode_t mode)
{
    char *path = ferry_asprintf("%s/%s", s_dir, rel);
    char *slash = strrchr(path, '/');
    *slash = '\0';
    assert_int_equal(ferry_mkdirs(path), 0);
    *slash = '/';
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
    free(path);
}

static const ferry_runtime_t *s_find(const ferry_runtime_t *rt, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(rt[i].name, name))
            return &rt[i];
    return NULL;
}

/* PATH = our bin dir only, so "node" is the stand-in (or absent). */
static void s_use_bin(bool has_node)
{
    char *bin = ferry_asprintf("%s/bin%s", s_dir, has_node ? "" : "-empty");
    mkdir(bin, 0755);
    setenv("PATH", bin, 1);
    free(bin);
}

static void test_detects_node_and_python_with_cuda(void **state)
{
    s_write("runners/ort-node/runner.js", "// stand-in\n", 0644);
    s_write("runners/ort-node/node_modules/onnxruntime-node/package.json",
            "{\n  \"name\": \"onnxruntime-node\",\n  \"version\": \"1.30.0\"\n}\n", 0644);
    s_write("runners/ort-python/runner.py", "# stand-in\n", 0644);
    s_write("bin/node", "#!/bin/sh\necho v20.0.0\n", 0755);
    s_write("python-cuda", "#!/bin/sh\nprintf '1.31.1\\nCUDAExecutionProvider,CPUExecutionProvider\\n'\n", 0755);
    char *runners = ferry_asprintf("%s/runners", s_dir);
    char *python = ferry_asprintf("%s/python-cuda", s_dir);
    s_use_bin(true);
    setenv("FERRY_ORT_PYTHON", python, 1);
    ferry_runtime_t *rt;
    size_t n;
    assert_int_equal(ferry_runtimes_detect(runners, &rt, &n), 3);
    const ferry_runtime_t *node = s_find(rt, n, "ort-node");
    assert_non_null(node);
    assert_string_equal(node->version, "1.30.0");
    assert_non_null(strstr(node->program, "runners/ort-node/runner.js"));
    const ferry_runtime_t *py = s_find(rt, n, "ort-python");
    assert_non_null(py);
    assert_string_equal(py->version, "1.31.1");
    const ferry_runtime_t *cuda = s_find(rt, n, "ort-python-cuda");
    assert_non_null(cuda);
    assert_non_null(strstr(cuda->program, "--provider CUDAExecutionProvider"));
    ferry_buf_t out = FERRY_BUF_INIT;
    ferry_json_t j;
    ferry_json_init(&j, &out, false);
    ferry_runtimes_to_json(rt, n, &j);
    assert_non_null(strstr(out.data, "{\"name\":\"ort-node\",\"version\":\"1.30.0\",\"program\":"));
    ferry_buf_free(&out);
    ferry_runtimes_free(rt, n);
    free(runners);
    free(python);
}

static void test_missing_or_broken_runtimes(void **state)
{
    char *runners = ferry_asprintf("%s/runners", s_dir);
    ferry_runtime_t *rt;
    size_t n;
    /* no node on PATH; python without onnxruntime (exit 1); a CPU-only python */
    s_use_bin(false);
    s_write("python-none", "#!/bin/sh\necho 'ModuleNotFoundError' >&2\nexit 1\n", 0755);
    char *python = ferry_asprintf("%s/python-none", s_dir);
    setenv("FERRY_ORT_PYTHON", python, 1);
    assert_int_equal(ferry_runtimes_detect(runners, &rt, &n), 0);
    ferry_runtimes_free(rt, n);
    free(python);
    /* hostile output: a version that is not one, providers without CPU */
    s_write("python-odd", "#!/bin/sh\nprintf '$(rm -rf /)\\nCPUExecutionProvider\\n'\n", 0755);
    python = ferry_asprintf("%s/python-odd", s_dir);
    setenv("FERRY_ORT_PYTHON", python, 1);
    assert_int_equal(ferry_runtimes_detect(runners, &rt, &n), 0);
    ferry_runtimes_free(rt, n);
    free(python);
    s_write("python-cpu", "#!/bin/sh\nprintf '1.30.0\\nAzureExecutionProvider,CPUExecutionProvider\\n'\n", 0755);
    python = ferry_asprintf("%s/python-cpu", s_dir);
    setenv("FERRY_ORT_PYTHON", python, 1);
    assert_int_equal(ferry_runtimes_detect(runners, &rt, &n), 1);
    assert_string_equal(rt[0].name, "ort-python");
    ferry_runtimes_free(rt, n);
    /* node present but onnxruntime-node not installed */
    s_use_bin(true);
    char *pkg = ferry_asprintf("%s/runners/ort-node/node_modules/onnxruntime-node/package.json", s_dir);
    unlink(pkg);
    assert_int_equal(ferry_runtimes_detect(runners, &rt, &n), 1);
    assert_null(s_find(rt, n, "ort-node"));
    ferry_runtimes_free(rt, n);
    /* a runners folder that does not exist */
    assert_int_equal(ferry_runtimes_detect("/nonexistent/runners", &rt, &n), 0);
    ferry_runtimes_free(rt, n);
    free(pkg);
    free(python);
    free(runners);
}

static void test_runners_dir(void **state)
{
    setenv("FERRY_RUNNERS_DIR", "/opt/ferry/runners", 1);
    char *dir = ferry_runners_dir();
    assert_string_equal(dir, "/opt/ferry/runners");
    free(dir);
    unsetenv("FERRY_RUNNERS_DIR");
    dir = ferry_runners_dir(); /* build/tests/test_runtimes: ../../runners is the repo's */
    assert_non_null(dir);
    assert_true(strlen(dir) > 0);
    free(dir);
}

static int s_setup(void **state)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/ferry-runtimes-XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    char *cmd = ferry_asprintf("rm -rf '%s'", s_dir);
    setenv("PATH", "/usr/bin:/bin", 1);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_detects_node_and_python_with_cuda),
        cmocka_unit_test(test_missing_or_broken_runtimes),
        cmocka_unit_test(test_runners_dir),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
