/* test_plan.c -- unit tests for coordinator/plan: defaults, every field, every error path */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "coordinator/plan.h"
#include "util/buf.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ferry_plan_t *s_parse(const char *yaml, ferry_err_t *err)
{
    memset(err, 0, sizeof *err);
    return ferry_plan_parse("plan.yaml", yaml, strlen(yaml), err);
}

/* Parse must fail and the message must contain every fragment (printed on mismatch). */
#define assert_plan_error(yaml, ...)                                                                   \
    do {                                                                                               \
        ferry_err_t e_;                                                                                \
        ferry_plan_t *p_ = s_parse(yaml, &e_);                                                         \
        if (p_) {                                                                                      \
            ferry_plan_destroy(&p_);                                                                   \
            fail_msg("plan unexpectedly accepted:\n%s", yaml);                                         \
        }                                                                                              \
        const char *frags_[] = {__VA_ARGS__, NULL};                                                    \
        for (size_t i_ = 0; frags_[i_]; i_++)                                                          \
            if (!strstr(e_.msg, frags_[i_]))                                                           \
                fail_msg("error message\n  %s\nlacks\n  %s", e_.msg, frags_[i_]);                      \
    } while (0)

static void test_minimal_plan_gets_defaults(void **state)
{
    ferry_err_t err;
    ferry_plan_t *p = s_parse("diagnostics:\n  - kind: echo\n", &err);
    assert_non_null(p);
    assert_string_equal(p->path, "plan.yaml");
    assert_null(p->name);
    assert_int_equal(p->max_attempts, 3);
    assert_int_equal(p->lease_ms, 30000);
    assert_int_equal(p->task_timeout_ms, 600000);
    assert_int_equal(p->retry_backoff_ms, 500);
    assert_int_equal(p->heartbeat_ms, 1000);
    assert_int_equal(p->memory_limit_mb, 4096);
    assert_int_equal(p->n_groups, 1);
    assert_string_equal(p->groups[0].name, "echo");
    assert_int_equal(p->groups[0].kind, FERRY_DIAG_ECHO);
    assert_int_equal(p->groups[0].count, 1);
    assert_null(p->groups[0].req.arch);
    assert_int_equal(p->groups[0].req.n_isa, 0);
    assert_false(p->groups[0].req.needs_gpu);
    ferry_plan_destroy(&p);
    assert_null(p);
    ferry_plan_destroy(&p); /* safe twice */
}

static void test_full_plan(void **state)
{
    const char *yaml = "# a full plan\n"
                       "name: smoke test\n"
                       "settings:\n"
                       "  max_attempts: 5\n"
                       "  lease_ms: 2000\n"
                       "  task_timeout_ms: 1500\n"
                       "  retry_backoff_ms: 0\n"
                       "  heartbeat_ms: 250\n"
                       "  memory_limit_mb: 512\n"
                       "diagnostics:\n"
                       "  - {kind: echo, count: 10000000}\n"
                       "  - kind: sleep\n"
                       "    ms: 250\n"
                       "    count: 3\n"
                       "    name: naps\n"
                       "    requires:\n"
                       "      arch: aarch64\n"
                       "      isa: [NEON, sve]\n"
                       "      gpu: true\n"
                       "      tags: [rack-1, \"zone:eu\"]\n"
                       "      runtimes: [ort-node]\n"
                       "  - kind: fail\n"
                       "  - kind: crash\n"
                       "    requires: {gpu: False}\n";
    ferry_err_t err;
    ferry_plan_t *p = s_parse(yaml, &err);
    if (!p)
        fail_msg("%s", err.msg);
    assert_string_equal(p->name, "smoke test");
    assert_int_equal(p->max_attempts, 5);
    assert_int_equal(p->lease_ms, 2000);
    assert_int_equal(p->task_timeout_ms, 1500);
    assert_int_equal(p->retry_backoff_ms, 0);
    assert_int_equal(p->heartbeat_ms, 250);
    assert_int_equal(p->memory_limit_mb, 512);
    assert_int_equal(p->n_groups, 4);
    assert_int_equal(p->groups[0].count, 10000000);
    ferry_plan_group_t *g = &p->groups[1];
    assert_string_equal(g->name, "naps");
    assert_int_equal(g->kind, FERRY_DIAG_SLEEP);
    assert_int_equal(g->sleep_ms, 250);
    assert_int_equal(g->count, 3);
    assert_string_equal(g->req.arch, "aarch64");
    assert_int_equal(g->req.n_isa, 2);
    assert_string_equal(g->req.isa[0], "neon"); /* folded to lower case */
    assert_string_equal(g->req.isa[1], "sve");
    assert_true(g->req.needs_gpu);
    assert_int_equal(g->req.n_tags, 2);
    assert_string_equal(g->req.tags[1], "zone:eu");
    assert_int_equal(g->req.n_runtimes, 1);
    assert_string_equal(g->req.runtimes[0], "ort-node");
    assert_string_equal(p->groups[2].name, "fail");
    assert_int_equal(p->groups[2].kind, FERRY_DIAG_FAIL);
    assert_int_equal(p->groups[3].kind, FERRY_DIAG_CRASH);
    assert_false(p->groups[3].req.needs_gpu);
    assert_string_equal(ferry_diag_kind_name(FERRY_DIAG_CRASH), "crash");
    ferry_plan_destroy(&p);
}

static void test_error_names_file_line_column_key(void **state)
{
    /* The example from the issue, to the letter. */
    ferry_err_t err;
    const char *yaml = "name: x\n"
                       "diagnostics:\n"
                       "  - kind: echo\n"
                       "settings:\n"
                       "  max_attempts: 2\n"
                       "  lease_ms: abc\n";
    assert_null(s_parse(yaml, &err));
    assert_string_equal(err.msg, "plan.yaml:6:13: settings.lease_ms: expected a positive integer (milliseconds), "
                                 "got \"abc\"");
}

static void test_settings_type_and_range_errors(void **state)
{
    assert_plan_error("settings: {lease_ms: 0}\ndiagnostics: [{kind: echo}]\n", "plan.yaml:1:22:",
                      "settings.lease_ms", "got \"0\" (allowed: 1 to");
    assert_plan_error("settings: {lease_ms: -5}\ndiagnostics: [{kind: echo}]\n", "settings.lease_ms", "\"-5\"");
    assert_plan_error("settings: {lease_ms: \"3000\"}\ndiagnostics: [{kind: echo}]\n", "settings.lease_ms",
                      "expected a positive integer");
    assert_plan_error("settings: {lease_ms: 1.5}\ndiagnostics: [{kind: echo}]\n", "settings.lease_ms");
    assert_plan_error("settings: {lease_ms: 99999999999999999999999}\ndiagnostics: [{kind: echo}]\n",
                      "settings.lease_ms");
    assert_plan_error("settings: {lease_ms: [1]}\ndiagnostics: [{kind: echo}]\n", "settings.lease_ms",
                      "got a list");
    assert_plan_error("settings: {lease_ms: }\ndiagnostics: [{kind: echo}]\n", "settings.lease_ms",
                      "got nothing (null)");
    assert_plan_error("settings: {max_attempts: 0}\ndiagnostics: [{kind: echo}]\n", "settings.max_attempts");
    assert_plan_error("settings: {max_attempts: 1001}\ndiagnostics: [{kind: echo}]\n", "settings.max_attempts",
                      "1 to 1000");
    assert_plan_error("settings: {task_timeout_ms: x}\ndiagnostics: [{kind: echo}]\n", "settings.task_timeout_ms");
    assert_plan_error("settings: {retry_backoff_ms: -1}\ndiagnostics: [{kind: echo}]\n",
                      "settings.retry_backoff_ms", "non-negative");
    assert_plan_error("settings: {heartbeat_ms: {a: 1}}\ndiagnostics: [{kind: echo}]\n", "settings.heartbeat_ms",
                      "got a mapping");
    assert_plan_error("settings: {memory_limit_mb: 0}\ndiagnostics: [{kind: echo}]\n", "settings.memory_limit_mb");
    assert_plan_error("settings: [1, 2]\ndiagnostics: [{kind: echo}]\n", "plan.yaml:1:11: settings: expected a mapping");
    /* heartbeats must fit in a lease */
    assert_plan_error("settings: {lease_ms: 1000, heartbeat_ms: 1000}\ndiagnostics: [{kind: echo}]\n",
                      "settings.heartbeat_ms", "must be less than lease_ms");
    assert_plan_error("settings: {lease_ms: 500}\ndiagnostics: [{kind: echo}]\n", "settings.lease_ms",
                      "heartbeat_ms (1000) must be less than lease_ms (500)");
}

static void test_unknown_and_duplicate_keys(void **state)
{
    assert_plan_error("nmae: x\ndiagnostics: [{kind: echo}]\n", "plan.yaml:1:1:", "unknown key \"nmae\"",
                      "name, settings, diagnostics");
    assert_plan_error("settings:\n  lease: 5\ndiagnostics: [{kind: echo}]\n", "plan.yaml:2:3: settings:",
                      "unknown key \"lease\"", "lease_ms");
    assert_plan_error("diagnostics:\n  - kind: echo\n    cuont: 3\n", "plan.yaml:3:5: diagnostics[0]:",
                      "unknown key \"cuont\"");
    assert_plan_error("diagnostics:\n  - kind: echo\n    requires: {cpu: x}\n", "diagnostics[0].requires",
                      "unknown key \"cpu\"");
    assert_plan_error("settings:\n  lease_ms: 5000\n  lease_ms: 6000\ndiagnostics: [{kind: echo}]\n",
                      "plan.yaml:3:3: settings: duplicate key \"lease_ms\" (first at line 2)");
    assert_plan_error("name: a\nname: b\ndiagnostics: [{kind: echo}]\n", "duplicate key \"name\"");
    assert_plan_error("? [a, b]\n: 1\ndiagnostics: [{kind: echo}]\n", "keys must be plain words");
    /* a long unknown key is quoted shortened, control bytes escaped */
    assert_plan_error("\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\\x01\": 1\n", "...\"");
    assert_plan_error("\"\\x01\\u00e9\": 1\n", "\"\\x01\\xc3\\xa9\"");
}

static void test_migration_is_refused(void **state)
{
    assert_plan_error("name: m\nmigration:\n  from: pmml\n", "plan.yaml:2:1: migration: migration plans are not "
                                                             "supported yet");
}

static void test_structure_errors(void **state)
{
    assert_plan_error("", "plan.yaml:1:1: the plan is empty");
    assert_plan_error("# only a comment\n", "the plan is empty");
    assert_plan_error("- a\n- b\n", "expected a mapping with name:");
    assert_plan_error("just words\n", "got \"just words\"");
    assert_plan_error("name: x\n", "nothing to do", "diagnostics");
    assert_plan_error("diagnostics: []\n", "diagnostics: the list is empty");
    assert_plan_error("diagnostics: {kind: echo}\n", "diagnostics: expected a list");
    assert_plan_error("diagnostics: [echo]\n", "diagnostics[0]: expected a mapping", "got \"echo\"");
    assert_plan_error("diagnostics: [{kind: echo}]\n---\ndiagnostics: [{kind: echo}]\n", "plan.yaml:2:1:",
                      "second one");
    /* YAML syntax errors carry libyaml's position */
    assert_plan_error("diagnostics:\n  - kind: echo\n   bad: [\n", "plan.yaml:", "YAML syntax error");
    assert_plan_error("a: b: c\n", "plan.yaml:1:5: YAML syntax error");
    assert_plan_error("x: [1, 2\n", "YAML syntax error");
    assert_plan_error("x: \"\xff\xfe\"\n", "YAML syntax error");
}

static void test_hostile_inputs(void **state)
{
    /* aliases could expand a small file into a huge tree ("billion laughs") */
    assert_plan_error("a: &x [1, 2]\nb: *x\n", "plan.yaml:2:4:", "aliases");
    /* nesting */
    ferry_buf_t deep = FERRY_BUF_INIT;
    for (int i = 0; i < 100000; i++)
        ferry_buf_putc(&deep, '[');
    assert_plan_error(deep.data, "nesting deeper than 16 levels");
    ferry_buf_free(&deep);
    /* an over-long scalar */
    char *big = ferry_malloc(FERRY_PLAN_MAX_SCALAR + 32);
    memset(big, 'a', FERRY_PLAN_MAX_SCALAR + 10);
    memcpy(big, "name: ", 6);
    big[FERRY_PLAN_MAX_SCALAR + 10] = '\0';
    assert_plan_error(big, "value too long");
    free(big);
    /* NUL characters inside values and in the raw text */
    assert_plan_error("name: \"a\\0b\"\n", "NUL");
    ferry_err_t err;
    static const char with_nul[] = "name: a\0b\ndiagnostics: [{kind: echo}]\n";
    assert_null(ferry_plan_parse("p.yaml", with_nul, sizeof with_nul - 1, &err));
    /* tags */
    assert_plan_error("name: !!python/object x\n", "YAML tag");
    assert_plan_error("diagnostics: !custom [{kind: echo}]\n", "YAML tag");
    /* too many groups */
    ferry_buf_t many = FERRY_BUF_INIT;
    ferry_buf_puts(&many, "diagnostics:\n");
    for (int i = 0; i <= FERRY_PLAN_MAX_GROUPS; i++)
        ferry_buf_printf(&many, "  - {kind: echo, name: g%d}\n", i);
    assert_plan_error(many.data, "too many groups");
    ferry_buf_free(&many);
    /* oversized input is refused before parsing */
    assert_null(ferry_plan_parse("p.yaml", "", (size_t)FERRY_PLAN_MAX_BYTES + 1, &err));
    assert_non_null(strstr(err.msg, "too large"));
    /* NULL text with zero length is an empty plan, not a crash */
    assert_null(ferry_plan_parse(NULL, NULL, 0, &err));
    assert_non_null(strstr(err.msg, "<plan>:1:1: the plan is empty"));
}

static void test_group_errors(void **state)
{
    assert_plan_error("diagnostics: [{count: 2}]\n", "plan.yaml:1:15: diagnostics[0]: missing key \"kind\"");
    assert_plan_error("diagnostics: [{kind: sing}]\n", "diagnostics[0].kind", "echo, sleep, fail, crash",
                      "got \"sing\"");
    assert_plan_error("diagnostics: [{kind: sleep}]\n", "diagnostics[0]: missing key \"ms\"");
    assert_plan_error("diagnostics: [{kind: echo, ms: 5}]\n", "diagnostics[0].ms", "only a sleep task takes ms");
    assert_plan_error("diagnostics: [{kind: sleep, ms: -1}]\n", "diagnostics[0].ms");
    assert_plan_error("diagnostics: [{kind: echo, count: 0}]\n", "diagnostics[0].count", "1 to 10000000");
    assert_plan_error("diagnostics: [{kind: echo, count: 10000001}]\n", "diagnostics[0].count");
    assert_plan_error("diagnostics: [{kind: echo, name: \"has space\"}]\n", "diagnostics[0].name");
    assert_plan_error("diagnostics: [{kind: echo, name: \"\"}]\n", "diagnostics[0].name");
    assert_plan_error("diagnostics: [{kind: echo, name: ~}]\n", "diagnostics[0].name", "null");
    assert_plan_error("diagnostics:\n  - {kind: echo}\n  - {kind: echo}\n",
                      "plan.yaml:3:5: diagnostics[1]: group name \"echo\" is already used by diagnostics[0] (line 2)");
    assert_plan_error("diagnostics:\n  - {kind: echo, name: a}\n  - {kind: fail, name: a}\n", "\"a\" is already used");
    /* the first repeat in file order is reported, whatever the names sort as */
    assert_plan_error("diagnostics:\n  - {kind: echo, name: b}\n  - {kind: echo, name: a}\n"
                      "  - {kind: echo, name: b}\n  - {kind: echo, name: a}\n  - {kind: echo, name: b}\n",
                      "plan.yaml:4:5: diagnostics[2]: group name \"b\" is already used by diagnostics[0] (line 2)");
    assert_plan_error("diagnostics:\n  - {kind: echo, name: z}\n  - {kind: echo, name: a}\n"
                      "  - {kind: echo, name: a}\n  - {kind: echo, name: z}\n",
                      "diagnostics[2]: group name \"a\" is already used by diagnostics[1] (line 3)");
    assert_plan_error("diagnostics: [{kind: echo, requires: [x]}]\n", "diagnostics[0].requires",
                      "expected a mapping of requirements");
    assert_plan_error("diagnostics: [{kind: echo, requires: {arch: x86-64}}]\n", "diagnostics[0].requires.arch",
                      "x86_64, aarch64");
    assert_plan_error("diagnostics: [{kind: echo, requires: {gpu: yes}}]\n", "diagnostics[0].requires.gpu",
                      "true or false", "got \"yes\"");
    assert_plan_error("diagnostics: [{kind: echo, requires: {isa: avx2}}]\n", "diagnostics[0].requires.isa",
                      "expected a list of ISA flags");
    assert_plan_error("diagnostics: [{kind: echo, requires: {isa: [avx2, AVX2]}}]\n",
                      "diagnostics[0].requires.isa[1]", "listed twice");
    assert_plan_error("diagnostics: [{kind: echo, requires: {isa: [[avx2]]}}]\n", "diagnostics[0].requires.isa[0]",
                      "got a list");
    assert_plan_error("diagnostics: [{kind: echo, requires: {tags: [\"a b\"]}}]\n", "diagnostics[0].requires.tags[0]");
    assert_plan_error("diagnostics: [{kind: echo, requires: {runtimes: [ort, \"\"]}}]\n",
                      "diagnostics[0].requires.runtimes[1]");
}

static void test_null_sections_are_empty(void **state)
{
    ferry_err_t err;
    ferry_plan_t *p = s_parse("settings:\ndiagnostics:\n  - kind: echo\n    requires:\n", &err);
    if (!p)
        fail_msg("%s", err.msg);
    assert_int_equal(p->lease_ms, 30000);
    assert_int_equal(p->groups[0].req.n_tags, 0);
    ferry_plan_destroy(&p);
}

static void test_load_from_file(void **state)
{
    char path[] = "/tmp/ferry-test-plan-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    const char *yaml = "name: filed\ndiagnostics:\n  - {kind: sleep, ms: 10, count: 4}\n";
    assert_int_equal(write(fd, yaml, strlen(yaml)), (ssize_t)strlen(yaml));
    close(fd);
    ferry_err_t err;
    ferry_plan_t *p = ferry_plan_load(path, &err);
    if (!p)
        fail_msg("%s", err.msg);
    assert_string_equal(p->path, path);
    assert_int_equal(p->groups[0].count, 4);
    assert_int_equal(p->groups[0].sleep_ms, 10);
    ferry_plan_destroy(&p);
    unlink(path);
    assert_null(ferry_plan_load(path, &err));
    assert_non_null(strstr(err.msg, "cannot read the plan"));
    assert_non_null(strstr(err.msg, path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_minimal_plan_gets_defaults),
        cmocka_unit_test(test_full_plan),
        cmocka_unit_test(test_error_names_file_line_column_key),
        cmocka_unit_test(test_settings_type_and_range_errors),
        cmocka_unit_test(test_unknown_and_duplicate_keys),
        cmocka_unit_test(test_migration_is_refused),
        cmocka_unit_test(test_structure_errors),
        cmocka_unit_test(test_hostile_inputs),
        cmocka_unit_test(test_group_errors),
        cmocka_unit_test(test_null_sections_are_empty),
        cmocka_unit_test(test_load_from_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
