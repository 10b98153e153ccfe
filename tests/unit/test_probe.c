/* test_probe.c -- unit tests for worker/probe: every GPU source format on real H200
 * outputs ($FERRY_SHARED/fixtures/gpu), CPU/memory/OS parsing, a hung or missing
 * nvidia-smi, and truncated or hostile inputs */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/file.h"
#include "util/mem.h"
#include "worker/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define H200_MEMORY (143771ull * 1048576ull)

static char s_tmpdir[64];

/* Read $FERRY_SHARED/fixtures/gpu/<name>; NULL (and a "skipped:" line) when absent. */
static char *s_fixture(const char *name, size_t *len)
{
    const char *shared = getenv("FERRY_SHARED");
    if (!shared)
        shared = "../shared";
    char *path = ferry_asprintf("%s/fixtures/gpu/%s", shared, name);
    char *data = NULL;
    if (ferry_file_read(path, FERRY_PROBE_MAX_FILE, &data, len) < 0) {
        printf("skipped: fixtures absent (%s)\n", path);
        data = NULL;
    }
    free(path);
    return data;
}

static char *s_fixture_path(const char *name)
{
    const char *shared = getenv("FERRY_SHARED");
    return ferry_asprintf("%s/fixtures/gpu/%s", shared ? shared : "../shared", name);
}

static char *s_write_tmp(const char *name, const char *text, mode_t mode)
{
    char *path = ferry_asprintf("%s/%s", s_tmpdir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    chmod(path, mode);
    return path;
}

static void s_free_gpus(ferry_gpu_t *gpus, size_t n)
{
    ferry_probe_t p = {.gpus = gpus, .n_gpus = n};
    ferry_probe_free(&p);
}

static void test_csv_fixture_with_header_and_units(void **state)
{
    size_t len;
    char *csv = s_fixture("nvidia-smi-query.csv", &len);
    if (!csv)
        skip();
    ferry_gpu_t *gpus = NULL;
    size_t n = 0;
    assert_int_equal(ferry_probe_parse_nvsmi_csv(csv, len, &gpus, &n), 1);
    assert_int_equal(n, 1);
    assert_string_equal(gpus[0].name, "NVIDIA H200");
    assert_int_equal(gpus[0].memory_bytes, H200_MEMORY);
    assert_string_equal(gpus[0].driver, "580.159.04");
    assert_string_equal(gpus[0].compute_cap, "9.0");
    assert_string_equal(gpus[0].bus_id, "00000000:00:06.0");
    s_free_gpus(gpus, n);
    free(csv);
}

static void test_csv_noheader_nounits_many_gpus(void **state)
{
    /* the first line is what the probe's own query printed on an H200 machine
     * (--format=csv,noheader,nounits, driver 580.159.04); the others are shapes seen elsewhere */
    const char *csv = "NVIDIA H200, 143771, 580.159.04, 9.0, 00000000:00:06.0\n"
                      "NVIDIA A100-SXM4-80GB, 81920, 535.54.03, 8.0, 00000000:07:00.0\n"
                      "Tesla T4, [N/A], [N/A], 7.5, 00000000:08:00.0\r\n"
                      "broken line without enough fields\n"
                      "\n"
                      "a,b,c,d,e,f\n"
                      "NVIDIA L4,23034,550.1,[N/A],[N/A]";
    ferry_gpu_t *gpus = NULL;
    size_t n = 0;
    assert_int_equal(ferry_probe_parse_nvsmi_csv(csv, strlen(csv), &gpus, &n), 4);
    assert_string_equal(gpus[0].name, "NVIDIA H200");
    assert_int_equal(gpus[0].memory_bytes, H200_MEMORY);
    assert_string_equal(gpus[0].driver, "580.159.04");
    assert_string_equal(gpus[0].compute_cap, "9.0");
    assert_string_equal(gpus[0].bus_id, "00000000:00:06.0");
    ferry_gpu_t *rest = gpus + 1;
    assert_string_equal(rest[0].name, "NVIDIA A100-SXM4-80GB");
    assert_int_equal(rest[0].memory_bytes, 81920ull * 1048576ull);
    assert_string_equal(rest[0].compute_cap, "8.0");
    assert_string_equal(rest[1].name, "Tesla T4");
    assert_int_equal(rest[1].memory_bytes, 0);
    assert_null(rest[1].driver);
    assert_string_equal(rest[1].bus_id, "00000000:08:00.0"); /* \r trimmed */
    assert_string_equal(rest[2].name, "NVIDIA L4");
    assert_null(rest[2].compute_cap);
    assert_null(rest[2].bus_id);
    s_free_gpus(gpus, n);
}

static void test_xml_fixture(void **state)
{
    size_t len;
    char *xml = s_fixture("nvidia-smi-q.xml", &len);
    if (!xml)
        skip();
    ferry_gpu_t *gpus = NULL;
    size_t n = 0;
    assert_int_equal(ferry_probe_parse_nvsmi_xml(xml, len, &gpus, &n), 1);
    assert_string_equal(gpus[0].name, "NVIDIA H200");
    assert_int_equal(gpus[0].memory_bytes, H200_MEMORY);
    assert_string_equal(gpus[0].driver, "580.159.04");
    assert_null(gpus[0].compute_cap); /* `nvidia-smi -q` does not report it */
    assert_string_equal(gpus[0].bus_id, "00000000:00:06.0");
    s_free_gpus(gpus, n);
    free(xml);
}

static void test_proc_information_fixture(void **state)
{
    size_t len;
    char *info = s_fixture("proc-nvidia-information.txt", &len);
    if (!info)
        skip();
    ferry_gpu_t *gpus = NULL;
    size_t n = 0;
    assert_int_equal(ferry_probe_parse_nvidia_information(info, len, "580.159.04", &gpus, &n), 1);
    assert_string_equal(gpus[0].name, "NVIDIA H200");
    assert_int_equal(gpus[0].memory_bytes, 0); /* /proc does not say */
    assert_string_equal(gpus[0].driver, "580.159.04");
    assert_null(gpus[0].compute_cap);
    assert_string_equal(gpus[0].bus_id, "0000:00:06.0");
    s_free_gpus(gpus, n);

    /* the same through ferry_probe_run with a /proc/driver/nvidia-like tree */
    char *dir = ferry_asprintf("%s/gpus", s_tmpdir);
    char *bus = ferry_asprintf("%s/gpus/0000:00:06.0", s_tmpdir);
    mkdir(dir, 0755);
    mkdir(bus, 0755);
    char *info_path = ferry_asprintf("%s/information", bus);
    FILE *f = fopen(info_path, "w");
    fwrite(info, 1, len, f);
    fclose(f);
    char *version = s_write_tmp("version",
                                "NVRM version: NVIDIA UNIX Open Kernel Module for x86_64  580.159.04  Release Build\n"
                                "GCC version:  gcc version 12.2.0 (Debian 12.2.0-14)\n",
                                0644);
    ferry_probe_sources_t src = {.nvidia_proc_dir = dir, .nvidia_version_path = version, .arch = "x86_64"};
    ferry_probe_t p;
    assert_int_equal(ferry_probe_run(&p, &src), 0);
    assert_int_equal(p.n_gpus, 1);
    assert_string_equal(p.gpus[0].name, "NVIDIA H200");
    assert_string_equal(p.gpus[0].driver, "580.159.04");
    ferry_probe_free(&p);
    unlink(info_path);
    rmdir(bus);
    rmdir(dir);
    unlink(version);
    free(info_path);
    free(bus);
    free(dir);
    free(version);
    free(info);
}

static const char s_x86_cpuinfo[] =
    "processor\t: 0\n"
    "vendor_id\t: GenuineIntel\n"
    "model name\t: Intel(R) Xeon(R) Platinum 8480+\n"
    "flags\t\t: fpu sse2 pni ssse3 fma sse4_1 sse4_2 popcnt avx f16c bmi1 avx2 bmi2 avx512f avx512_bf16 "
    "amx_tile amx_int8 hypervisor\n"
    "\n"
    "processor\t: 1\n"
    "model name\t: Intel(R) Xeon(R) Platinum 8480+\n"
    "flags\t\t: fpu sse2\n";

static const char s_arm_cpuinfo[] = "processor\t: 0\n"
                                    "BogoMIPS\t: 243.75\n"
                                    "Features\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp "
                                    "cpuid asimdrdm lrcpc dcpop asimddp sve sve2 i8mm bf16\n"
                                    "CPU implementer\t: 0x41\n"
                                    "\n"
                                    "processor\t: 1\n"
                                    "Features\t: fp asimd\n"
                                    "processor\t: 2\n"
                                    "processor\t: 3\n";

static void test_cpuinfo_x86_and_arm(void **state)
{
    ferry_probe_t p = {.arch = ferry_strdup("x86_64")};
    assert_int_equal(ferry_probe_parse_cpuinfo(s_x86_cpuinfo, strlen(s_x86_cpuinfo), &p), 2);
    assert_string_equal(p.cpu_model, "Intel(R) Xeon(R) Platinum 8480+");
    const char *want[] = {"sse2", "sse3", "ssse3", "fma", "sse4.1", "sse4.2", "popcnt", "avx",
                          "f16c", "bmi1", "bmi2", "avx2", "avx512f", "avx512_bf16", "amx_tile", "amx_int8"};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(want); i++)
        if (!ferry_probe_has_isa(&p, want[i]))
            fail_msg("x86 ISA flag %s missing", want[i]);
    assert_int_equal(p.n_isa, FERRY_ARRAY_LEN(want)); /* fpu, hypervisor dropped */
    assert_false(ferry_probe_has_isa(&p, "sse4_2"));
    ferry_probe_free(&p);

    p = (ferry_probe_t){.arch = ferry_strdup("aarch64")};
    assert_int_equal(ferry_probe_parse_cpuinfo(s_arm_cpuinfo, strlen(s_arm_cpuinfo), &p), 4);
    assert_null(p.cpu_model);
    const char *want_arm[] = {"neon", "asimd", "aes", "sha2", "crc32", "atomics", "fphp", "asimdhp",
                              "asimddp", "sve", "sve2", "i8mm", "bf16"};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(want_arm); i++)
        if (!ferry_probe_has_isa(&p, want_arm[i]))
            fail_msg("arm ISA flag %s missing", want_arm[i]);
    assert_int_equal(p.n_isa, FERRY_ARRAY_LEN(want_arm));
    ferry_probe_free(&p);
}

static void test_run_with_file_sources(void **state)
{
    char *cpuinfo = s_write_tmp("cpuinfo", s_arm_cpuinfo, 0644);
    char *meminfo = s_write_tmp("meminfo", "MemFree:  1 kB\nMemTotal:       16384000 kB\nMemTotal: 5 kB\n", 0644);
    char *os = s_write_tmp("os-release", "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME='Debian GNU/Linux 12 (bookworm)'\n",
                           0644);
    char *csv = s_fixture_path("nvidia-smi-query.csv");
    ferry_probe_sources_t src = {.cpuinfo_path = cpuinfo, .meminfo_path = meminfo, .os_release_path = os,
                                 .nvidia_smi_csv_path = csv, .arch = "aarch64", .kernel = "6.1.0-test"};
    ferry_probe_t p;
    assert_int_equal(ferry_probe_run(&p, &src), 0);
    assert_string_equal(p.arch, "aarch64");
    assert_string_equal(p.kernel, "6.1.0-test");
    assert_int_equal(p.cores, 4);
    assert_int_equal(p.memory_bytes, 16384000ull * 1024);
    assert_string_equal(p.os, "Debian GNU/Linux 12 (bookworm)");
    assert_true(ferry_probe_has_isa(&p, "neon"));
    if (access(csv, R_OK) == 0) {
        assert_int_equal(p.n_gpus, 1);
        assert_string_equal(p.gpus[0].compute_cap, "9.0");
    }

    /* JSON shape */
    ferry_buf_t out = FERRY_BUF_INIT;
    ferry_json_t j;
    ferry_json_init(&j, &out, false);
    ferry_probe_to_json(&p, &j);
    assert_non_null(strstr(out.data, "\"arch\":\"aarch64\""));
    assert_non_null(strstr(out.data, "\"cores\":4"));
    assert_non_null(strstr(out.data, "\"memory_bytes\":16777216000"));
    if (p.n_gpus)
        assert_non_null(strstr(out.data, "\"gpus\":[{\"name\":\"NVIDIA H200\",\"memory_bytes\":150754820096,"
                                         "\"driver\":\"580.159.04\",\"compute_cap\":\"9.0\","
                                         "\"bus_id\":\"00000000:00:06.0\"}]"));
    assert_non_null(strstr(out.data, "\"cpu_model\":null"));
    ferry_buf_free(&out);
    ferry_probe_free(&p);
    ferry_probe_free(&p); /* safe twice */

    /* os-release without PRETTY_NAME */
    char *os2 = s_write_tmp("os-release2", "NAME=Alpine\nVERSION_ID=3.19\n", 0644);
    ferry_probe_sources_t src2 = {.os_release_path = os2, .meminfo_path = meminfo};
    assert_int_equal(ferry_probe_run(&p, &src2), 0);
    assert_string_equal(p.os, "Alpine 3.19");
    ferry_probe_free(&p);

    /* nothing readable at all */
    ferry_probe_sources_t src3 = {.cpuinfo_path = "/nonexistent/cpuinfo", .meminfo_path = "/nonexistent/meminfo"};
    assert_true(ferry_probe_run(&p, &src3) < 0);
    ferry_probe_free(&p);
    unlink(cpuinfo);
    unlink(meminfo);
    unlink(os);
    unlink(os2);
    free(cpuinfo);
    free(meminfo);
    free(os);
    free(os2);
    free(csv);
}

static double s_seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

static void test_nvidia_smi_program(void **state)
{
    char *csv = s_fixture_path("nvidia-smi-query.csv");
    if (access(csv, R_OK) != 0) {
        printf("skipped: fixtures absent (%s)\n", csv);
        free(csv);
        skip();
    }
    /* a stand-in that checks its arguments and prints the real H200 output */
    char *script_text = ferry_asprintf("#!/bin/sh\n"
                                       "[ \"$1\" = --query-gpu=name,memory.total,driver_version,compute_cap,pci.bus_id ] "
                                       "|| exit 9\n"
                                       "[ \"$2\" = --format=csv,noheader,nounits ] || exit 9\n"
                                       "tail -n +2 '%s' | sed 's/ MiB//'\n",
                                       csv);
    char *fake = s_write_tmp("nvidia-smi", script_text, 0755);
    ferry_probe_sources_t src = {.nvidia_smi = fake, .arch = "x86_64"};
    ferry_probe_t p;
    assert_int_equal(ferry_probe_run(&p, &src), 0);
    assert_int_equal(p.n_gpus, 1);
    assert_string_equal(p.gpus[0].name, "NVIDIA H200");
    assert_int_equal(p.gpus[0].memory_bytes, H200_MEMORY);
    assert_string_equal(p.gpus[0].compute_cap, "9.0");
    ferry_probe_free(&p);

    /* a hung nvidia-smi (and a grandchild holding the pipe) costs the timeout, not a hang;
     * the probe falls back to the next source */
    char *hung = s_write_tmp("nvidia-smi-hung", "#!/bin/sh\nsleep 30 &\nsleep 30\n", 0755);
    char *xml = s_fixture_path("nvidia-smi-q.xml");
    ferry_probe_sources_t src_hung = {.nvidia_smi = hung, .nvidia_smi_timeout_ms = 300, .nvidia_smi_xml_path = xml};
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(ferry_probe_run(&p, &src_hung), 0);
    double secs = s_seconds_since(&t0);
    if (secs > 2.0)
        fail_msg("hung nvidia-smi held the probe %.2f s (timeout 0.3 s)", secs);
    assert_int_equal(p.n_gpus, 1);
    assert_null(p.gpus[0].compute_cap); /* it came from the XML */
    ferry_probe_free(&p);

    /* missing, failing and flooding programs give no GPUs and no crash */
    char *failing = s_write_tmp("nvidia-smi-fail", "#!/bin/sh\necho 'NVIDIA X, 1, 1, 1, 1'\nexit 6\n", 0755);
    char *flood = s_write_tmp("nvidia-smi-flood", "#!/bin/sh\nexec yes 'NVIDIA Y, 1, 1, 1.0, 0:0'\n", 0755);
    const char *programs[] = {"/nonexistent/nvidia-smi", "ferry-no-such-program-on-path", failing, flood};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(programs); i++) {
        ferry_probe_sources_t s = {.nvidia_smi = programs[i], .nvidia_smi_timeout_ms = 2000};
        clock_gettime(CLOCK_MONOTONIC, &t0);
        assert_int_equal(ferry_probe_run(&p, &s), 0);
        if (p.n_gpus != 0)
            fail_msg("%s: expected no GPU, got %zu", programs[i], p.n_gpus);
        if (s_seconds_since(&t0) > 3.0)
            fail_msg("%s took too long", programs[i]);
        ferry_probe_free(&p);
    }
    unlink(fake);
    unlink(hung);
    unlink(failing);
    unlink(flood);
    free(script_text);
    free(fake);
    free(hung);
    free(failing);
    free(flood);
    free(xml);
    free(csv);
}

/* Every prefix of every fixture, and byte-flipped copies, must parse or be skipped
 * without crashing (ASan/UBSan in `make SAN=1 test` catch the rest). */
static void test_truncated_and_corrupt_inputs(void **state)
{
    const char *names[] = {"nvidia-smi-query.csv", "nvidia-smi-q.xml", "proc-nvidia-information.txt"};
    size_t checked = 0;
    for (size_t f = 0; f < FERRY_ARRAY_LEN(names); f++) {
        size_t len;
        char *data = s_fixture(names[f], &len);
        if (!data)
            continue;
        size_t step = len > 2000 ? 97 : 1; /* the 27 KB XML: a prefix every 97 bytes */
        for (size_t cut = 0; cut <= len; cut += step) {
            ferry_gpu_t *gpus = NULL;
            size_t n = 0;
            char *copy = ferry_strndup(data, cut); /* exact-size heap copy: overreads trip ASan */
            ferry_probe_parse_nvsmi_csv(copy, cut, &gpus, &n);
            ferry_probe_parse_nvsmi_xml(copy, cut, &gpus, &n);
            ferry_probe_parse_nvidia_information(copy, cut, NULL, &gpus, &n);
            ferry_probe_t p = {.arch = ferry_strdup("x86_64")};
            ferry_probe_parse_cpuinfo(copy, cut, &p);
            ferry_probe_free(&p);
            for (size_t i = 0; i < n; i++)
                assert_non_null(gpus[i].name);
            s_free_gpus(gpus, n);
            free(copy);
            checked++;
        }
        srand(1234);
        for (int round = 0; round < 200; round++) {
            char *copy = ferry_strndup(data, len);
            for (int k = 0; k < 8; k++)
                copy[(size_t)rand() % len] = (char)(rand() & 0xff);
            ferry_gpu_t *gpus = NULL;
            size_t n = 0;
            ferry_probe_parse_nvsmi_csv(copy, len, &gpus, &n);
            ferry_probe_parse_nvsmi_xml(copy, len, &gpus, &n);
            ferry_probe_parse_nvidia_information(copy, len, "1.0", &gpus, &n);
            s_free_gpus(gpus, n);
            free(copy);
        }
        free(data);
    }
    /* hostile shapes: huge numbers, long fields, control bytes, too many GPUs, NUL bytes */
    ferry_gpu_t *gpus = NULL;
    size_t n = 0;
    static const char odd[] = "X, 99999999999999999999999, d, 1, b\nY, 18446744073709551615, d, 1, b\n"
                              "Z\x01, 1, d, 1, b\nW, -5, d, 1, b\nV\0V, 12, d, 1, b\n";
    /* Z and V (control byte, NUL in the name) are skipped */
    assert_int_equal(ferry_probe_parse_nvsmi_csv(odd, sizeof odd - 1, &gpus, &n), 3);
    assert_int_equal(gpus[0].memory_bytes, 0); /* overflow -> unknown */
    assert_int_equal(gpus[1].memory_bytes, 0);
    assert_string_equal(gpus[2].name, "W");
    assert_int_equal(gpus[2].memory_bytes, 0); /* "-5" */
    s_free_gpus(gpus, n);
    gpus = NULL;
    n = 0;
    ferry_buf_t many = FERRY_BUF_INIT;
    for (int i = 0; i < 500; i++)
        ferry_buf_printf(&many, "GPU %d, 1024, 1.0, 8.0, 0000:%02x:00.0\n", i, i & 0xff);
    for (int i = 0; i < 300; i++)
        ferry_buf_putc(&many, 'A'); /* a field longer than FERRY_PROBE_MAX_FIELD */
    ferry_buf_puts(&many, ", 1, 1, 1, 1\n");
    assert_int_equal(ferry_probe_parse_nvsmi_csv(many.data, many.len, &gpus, &n), FERRY_PROBE_MAX_GPUS);
    assert_int_equal(n, FERRY_PROBE_MAX_GPUS);
    s_free_gpus(gpus, n);
    ferry_buf_free(&many);
    /* XML with an entity bomb and a non-nvidia root */
    gpus = NULL;
    n = 0;
    const char *bomb = "<?xml version=\"1.0\"?><!DOCTYPE l [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;"
                       "&a;&a;&a;&a;&a;\"><!ENTITY c \"&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;\">]>"
                       "<nvidia_smi_log><gpu><product_name>&c;</product_name></gpu></nvidia_smi_log>";
    ferry_probe_parse_nvsmi_xml(bomb, strlen(bomb), &gpus, &n);
    assert_true(n <= 1);
    if (n == 1)
        assert_true(strlen(gpus[0].name) <= FERRY_PROBE_MAX_FIELD);
    s_free_gpus(gpus, n);
    gpus = NULL;
    n = 0;
    assert_int_equal(ferry_probe_parse_nvsmi_xml("<other><gpu><product_name>A</product_name></gpu></other>", 56, &gpus,
                                                 &n),
                     0);
    assert_int_equal(ferry_probe_parse_nvsmi_xml(NULL, 0, &gpus, &n), 0);
    assert_int_equal(ferry_probe_parse_nvsmi_csv(NULL, 0, &gpus, &n), 0);
    printf("summary: %zu truncated fixture prefixes parsed without error\n", checked);
}

/* This machine, through the default sources: sanity, not exact values (the integration
 * test compares `ferry probe --json` with nproc and /proc/meminfo). */
static void test_this_machine(void **state)
{
    ferry_probe_t p;
    assert_int_equal(ferry_probe_run(&p, NULL), 0);
    assert_non_null(p.arch);
    assert_true(p.cores >= 1);
    assert_true(p.memory_bytes > 0);
    ferry_probe_free(&p);
}

static int s_setup(void **state)
{
    snprintf(s_tmpdir, sizeof s_tmpdir, "/tmp/ferry-probe-XXXXXX");
    return mkdtemp(s_tmpdir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    return rmdir(s_tmpdir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_fixture_with_header_and_units),
        cmocka_unit_test(test_csv_noheader_nounits_many_gpus),
        cmocka_unit_test(test_xml_fixture),
        cmocka_unit_test(test_proc_information_fixture),
        cmocka_unit_test(test_cpuinfo_x86_and_arm),
        cmocka_unit_test(test_run_with_file_sources),
        cmocka_unit_test(test_nvidia_smi_program),
        cmocka_unit_test(test_truncated_and_corrupt_inputs),
        cmocka_unit_test(test_this_machine),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
