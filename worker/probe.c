/* probe.c -- hardware probe: /proc files, uname, nvidia-smi (CSV or XML) and /proc/driver/nvidia
 *
 * Every source is outside input: files are read with a size bound, lines that do not
 * parse are skipped, fields are length-checked and must be printable, and nvidia-smi is
 * run with a deadline (its process group is killed when it passes), so a broken driver
 * can slow the probe by FERRY_PROBE_NVSMI_TIMEOUT_MS at most, never hang it. */
#include "worker/probe.h"

#include "util/cpus.h"
#include "util/file.h"
#include "worker/capture.h"
#include "util/mem.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#define S_MIB 1048576ull
#define S_KIB 1024ull
/* GPU entries scanned in the /proc/driver/nvidia gpus dir (a hostile dir could hold many). */
#define S_MAX_PROC_ENTRIES 1024

/* ---- small text helpers ---------------------------------------------------------------- */

/* A copy of s[0..len) with surrounding blanks trimmed, or NULL when it is empty, too
 * long, or holds control characters (a field we would print and send over the wire). */
static char *s_field(const char *s, size_t len)
{
    while (len && isspace((unsigned char)*s)) {
        s++;
        len--;
    }
    while (len && isspace((unsigned char)s[len - 1]))
        len--;
    if (len == 0 || len > FERRY_PROBE_MAX_FIELD)
        return NULL;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return NULL;
    return ferry_strndup(s, len);
}

/* nvidia-smi writes "[N/A]", "N/A" or "[Not Supported]" for missing values. */
static bool s_is_not_available(const char *s)
{
    return !s || !strcmp(s, "N/A") || !strcmp(s, "[N/A]") || !strncmp(s, "[Not", 4) || !strncmp(s, "Not ", 4);
}

/* "143771", "143771 MiB" -> bytes; 0 when it does not parse or would overflow. */
static uint64_t s_parse_mib(const char *s)
{
    if (!s)
        return 0;
    while (isspace((unsigned char)*s))
        s++;
    if (!isdigit((unsigned char)*s))
        return 0;
    errno = 0;
    char *end;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || v > UINT64_MAX / S_MIB)
        return 0;
    while (isspace((unsigned char)*end))
        end++;
    if (*end && strcmp(end, "MiB"))
        return 0;
    return (uint64_t)v * S_MIB;
}

/* Iterate lines of text: *pos advances; returns false at the end. */
static bool s_next_line(const char *text, size_t len, size_t *pos, const char **line, size_t *line_len)
{
    if (*pos >= len)
        return false;
    const char *start = text + *pos;
    const char *nl = memchr(start, '\n', len - *pos);
    size_t n = nl ? (size_t)(nl - start) : len - *pos;
    *line = start;
    *line_len = n;
    *pos += n + (nl ? 1 : 0);
    return true;
}

/* Split "key : value" at the first ':'; key trimmed into key_out. */
static bool s_split_colon(const char *line, size_t len, char *key_out, size_t key_size, const char **value,
                          size_t *value_len)
{
    const char *colon = memchr(line, ':', len);
    if (!colon)
        return false;
    size_t klen = (size_t)(colon - line);
    while (klen && isspace((unsigned char)line[klen - 1]))
        klen--;
    if (klen == 0 || klen >= key_size)
        return false;
    memcpy(key_out, line, klen);
    key_out[klen] = '\0';
    *value = colon + 1;
    *value_len = len - (size_t)(colon + 1 - line);
    return true;
}

static void s_gpu_free(ferry_gpu_t *g)
{
    free(g->name);
    free(g->driver);
    free(g->compute_cap);
    free(g->bus_id);
    memset(g, 0, sizeof *g);
}

/* Append a GPU (taking the strings); false when the list is full (the strings are freed). */
static bool s_gpu_push(ferry_gpu_t **gpus, size_t *n_gpus, ferry_gpu_t *g)
{
    if (*n_gpus >= FERRY_PROBE_MAX_GPUS) {
        s_gpu_free(g);
        return false;
    }
    *gpus = ferry_reallocarray(*gpus, *n_gpus + 1, sizeof **gpus);
    (*gpus)[(*n_gpus)++] = *g;
    memset(g, 0, sizeof *g);
    return true;
}

/* ---- GPU sources --------------------------------------------------------------------- */

int ferry_probe_parse_nvsmi_csv(const char *text, size_t len, ferry_gpu_t **gpus, size_t *n_gpus)
{
    enum { F_NAME, F_MEMORY, F_DRIVER, F_COMPUTE_CAP, F_BUS_ID, F_COUNT };
    int added = 0;
    size_t pos = 0;
    const char *line;
    size_t line_len;
    if (!text)
        return 0;
    while (s_next_line(text, len, &pos, &line, &line_len)) {
        const char *field[F_COUNT];
        size_t field_len[F_COUNT];
        size_t n = 0, start = 0;
        bool is_bad = false;
        for (size_t i = 0; i <= line_len; i++) {
            if (i == line_len || line[i] == ',') {
                if (n == F_COUNT) {
                    is_bad = true;
                    break;
                }
                field[n] = line + start;
                field_len[n++] = i - start;
                start = i + 1;
            }
        }
        if (is_bad || n != F_COUNT)
            continue;
        ferry_gpu_t g = {0};
        g.name = s_field(field[F_NAME], field_len[F_NAME]);
        /* the header line of --format=csv (without noheader) */
        if (!g.name || !strcasecmp(g.name, "name")) {
            s_gpu_free(&g);
            continue;
        }
        char *memory = s_field(field[F_MEMORY], field_len[F_MEMORY]);
        g.memory_bytes = s_parse_mib(memory);
        free(memory);
        g.driver = s_field(field[F_DRIVER], field_len[F_DRIVER]);
        g.compute_cap = s_field(field[F_COMPUTE_CAP], field_len[F_COMPUTE_CAP]);
        g.bus_id = s_field(field[F_BUS_ID], field_len[F_BUS_ID]);
        if (s_is_not_available(g.driver)) {
            free(g.driver);
            g.driver = NULL;
        }
        if (s_is_not_available(g.compute_cap)) {
            free(g.compute_cap);
            g.compute_cap = NULL;
        }
        if (s_is_not_available(g.bus_id)) {
            free(g.bus_id);
            g.bus_id = NULL;
        }
        if (!s_gpu_push(gpus, n_gpus, &g))
            break;
        added++;
    }
    return added;
}

/* Text of the first child element called name (a fresh string or NULL). */
static char *s_xml_child_text(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next) {
        if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, name))
            continue;
        xmlChar *content = xmlNodeGetContent(c);
        if (!content)
            return NULL;
        char *out = s_field((const char *)content, strlen((const char *)content));
        xmlFree(content);
        return out;
    }
    return NULL;
}

static xmlNodePtr s_xml_child(xmlNodePtr parent, const char *name)
{
    for (xmlNodePtr c = parent ? parent->children : NULL; c; c = c->next)
        if (c->type == XML_ELEMENT_NODE && !strcmp((const char *)c->name, name))
            return c;
    return NULL;
}

int ferry_probe_parse_nvsmi_xml(const char *text, size_t len, ferry_gpu_t **gpus, size_t *n_gpus)
{
    if (!text || len == 0 || len > FERRY_PROBE_MAX_FILE)
        return 0;
    /* No entity substitution, no DTD loading, no network: the file is data, nothing more. */
    xmlDocPtr doc = xmlReadMemory(text, (int)len, "nvidia-smi.xml", NULL,
                                  XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING);
    if (!doc)
        return 0;
    int added = 0;
    xmlNodePtr root = xmlDocGetRootElement(doc);
    if (root && !strcmp((const char *)root->name, "nvidia_smi_log")) {
        char *driver = s_xml_child_text(root, "driver_version");
        for (xmlNodePtr c = root->children; c; c = c->next) {
            if (c->type != XML_ELEMENT_NODE || strcmp((const char *)c->name, "gpu"))
                continue;
            ferry_gpu_t g = {0};
            g.name = s_xml_child_text(c, "product_name");
            if (!g.name)
                continue;
            char *total = s_xml_child_text(s_xml_child(c, "fb_memory_usage"), "total");
            g.memory_bytes = s_parse_mib(total);
            free(total);
            g.driver = driver && !s_is_not_available(driver) ? ferry_strdup(driver) : NULL;
            /* recent drivers have no compute capability in -q; keep it when present */
            g.compute_cap = s_xml_child_text(c, "compute_cap");
            if (s_is_not_available(g.compute_cap)) {
                free(g.compute_cap);
                g.compute_cap = NULL;
            }
            g.bus_id = s_xml_child_text(s_xml_child(c, "pci"), "pci_bus_id");
            if (!g.bus_id) {
                xmlChar *id = xmlGetProp(c, (const xmlChar *)"id");
                if (id) {
                    g.bus_id = s_field((const char *)id, strlen((const char *)id));
                    xmlFree(id);
                }
            }
            if (!s_gpu_push(gpus, n_gpus, &g))
                break;
            added++;
        }
        free(driver);
    }
    xmlFreeDoc(doc);
    return added;
}

int ferry_probe_parse_nvidia_information(const char *text, size_t len, const char *driver, ferry_gpu_t **gpus,
                                         size_t *n_gpus)
{
    ferry_gpu_t g = {0};
    size_t pos = 0;
    const char *line, *value;
    size_t line_len, value_len;
    char key[64];
    if (!text)
        return 0;
    while (s_next_line(text, len, &pos, &line, &line_len)) {
        if (!s_split_colon(line, line_len, key, sizeof key, &value, &value_len))
            continue;
        if (!strcmp(key, "Model") && !g.name)
            g.name = s_field(value, value_len);
        else if (!strcmp(key, "Bus Location") && !g.bus_id)
            g.bus_id = s_field(value, value_len);
    }
    if (!g.name) {
        s_gpu_free(&g);
        return 0;
    }
    g.driver = driver ? ferry_strdup(driver) : NULL;
    return s_gpu_push(gpus, n_gpus, &g) ? 1 : 0;
}

/* The driver version in /proc/driver/nvidia/version: the first dotted-number word of the
 * "NVRM version:" line ("... Kernel Module  580.159.04  Thu ..."). */
static char *s_read_proc_driver(const char *path)
{
    char *data = NULL, *out = NULL;
    size_t len = 0;
    if (!path || ferry_file_read(path, FERRY_PROBE_MAX_FILE, &data, &len) < 0)
        return NULL;
    size_t pos = 0;
    const char *line;
    size_t line_len;
    while (!out && s_next_line(data, len, &pos, &line, &line_len)) {
        static const char prefix[] = "NVRM version:";
        if (line_len < sizeof prefix - 1 || strncmp(line, prefix, sizeof prefix - 1))
            continue;
        size_t i = sizeof prefix - 1;
        while (i < line_len && !out) {
            while (i < line_len && isspace((unsigned char)line[i]))
                i++;
            size_t start = i, dots = 0;
            bool is_version = true;
            while (i < line_len && !isspace((unsigned char)line[i])) {
                if (line[i] == '.')
                    dots++;
                else if (!isdigit((unsigned char)line[i]))
                    is_version = false;
                i++;
            }
            if (is_version && dots > 0 && i > start && isdigit((unsigned char)line[start]))
                out = s_field(line + start, i - start);
        }
    }
    free(data);
    return out;
}

static int s_cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void s_probe_proc_dir(const char *dir_path, const char *version_path, ferry_probe_t *p)
{
    DIR *dir = opendir(dir_path);
    if (!dir)
        return;
    char **names = NULL;
    size_t n_names = 0;
    struct dirent *de;
    while ((de = readdir(dir)) && n_names < S_MAX_PROC_ENTRIES) {
        if (de->d_name[0] == '.')
            continue;
        names = ferry_reallocarray(names, n_names + 1, sizeof *names);
        names[n_names++] = ferry_strdup(de->d_name);
    }
    closedir(dir);
    qsort(names, n_names, sizeof *names, s_cmp_str); /* readdir order is arbitrary */
    char *driver = s_read_proc_driver(version_path);
    for (size_t i = 0; i < n_names; i++) {
        char *path = ferry_asprintf("%s/%s/information", dir_path, names[i]);
        char *data = NULL;
        size_t len = 0;
        if (ferry_file_read(path, FERRY_PROBE_MAX_FILE, &data, &len) == 0)
            ferry_probe_parse_nvidia_information(data, len, driver, &p->gpus, &p->n_gpus);
        free(data);
        free(path);
        free(names[i]);
    }
    free(names);
    free(driver);
}

static void s_probe_gpus(const ferry_probe_sources_t *src, ferry_probe_t *p)
{
    char *data = NULL;
    size_t len = 0;
    if (src->nvidia_smi && *src->nvidia_smi) {
        char *argv[] = {(char *)src->nvidia_smi,
                        "--query-gpu=name,memory.total,driver_version,compute_cap,pci.bus_id",
                        "--format=csv,noheader,nounits", NULL};
        int timeout = src->nvidia_smi_timeout_ms > 0 ? src->nvidia_smi_timeout_ms : FERRY_PROBE_NVSMI_TIMEOUT_MS;
        if (ferry_capture_run(argv, timeout, FERRY_PROBE_MAX_FILE, &data, &len) == 0)
            ferry_probe_parse_nvsmi_csv(data, len, &p->gpus, &p->n_gpus);
        free(data);
        data = NULL;
        if (p->n_gpus)
            return;
    }
    if (src->nvidia_smi_csv_path && ferry_file_read(src->nvidia_smi_csv_path, FERRY_PROBE_MAX_FILE, &data, &len) == 0)
        ferry_probe_parse_nvsmi_csv(data, len, &p->gpus, &p->n_gpus);
    free(data);
    data = NULL;
    if (p->n_gpus)
        return;
    if (src->nvidia_smi_xml_path && ferry_file_read(src->nvidia_smi_xml_path, FERRY_PROBE_MAX_FILE, &data, &len) == 0)
        ferry_probe_parse_nvsmi_xml(data, len, &p->gpus, &p->n_gpus);
    free(data);
    if (p->n_gpus)
        return;
    if (src->nvidia_proc_dir)
        s_probe_proc_dir(src->nvidia_proc_dir, src->nvidia_version_path, p);
}

/* ---- CPU, memory, OS ------------------------------------------------------------------ */

static void s_add_isa(ferry_probe_t *p, const char *flag)
{
    if (p->n_isa >= FERRY_PROBE_MAX_ISA || ferry_probe_has_isa(p, flag))
        return;
    p->isa = ferry_reallocarray(p->isa, p->n_isa + 1, sizeof *p->isa);
    p->isa[p->n_isa++] = ferry_strdup(flag);
}

/* x86 flags as /proc/cpuinfo names them, except the SSE ones, named as compilers do. */
static void s_x86_flag(ferry_probe_t *p, const char *flag)
{
    static const char *const renamed[][2] = {{"pni", "sse3"}, {"sse4_1", "sse4.1"}, {"sse4_2", "sse4.2"}};
    static const char *const kept[] = {"sse2", "ssse3", "avx", "avx2", "fma", "f16c", "bmi1", "bmi2",
                                       "popcnt", "avx_vnni", "aes", "sha_ni", "vaes", "vpclmulqdq"};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(renamed); i++)
        if (!strcmp(flag, renamed[i][0])) {
            s_add_isa(p, renamed[i][1]);
            return;
        }
    for (size_t i = 0; i < FERRY_ARRAY_LEN(kept); i++)
        if (!strcmp(flag, kept[i])) {
            s_add_isa(p, flag);
            return;
        }
    if (!strncmp(flag, "avx512", 6) || !strncmp(flag, "amx", 3))
        s_add_isa(p, flag);
}

/* aarch64 "Features": asimd is NEON (reported as both names). */
static void s_arm_flag(ferry_probe_t *p, const char *flag)
{
    static const char *const kept[] = {"asimd", "asimdhp", "asimddp", "asimdfhm", "fphp", "sve", "sve2",
                                       "bf16", "i8mm", "sme", "aes", "sha2", "crc32", "atomics"};
    if (!strcmp(flag, "asimd"))
        s_add_isa(p, "neon");
    for (size_t i = 0; i < FERRY_ARRAY_LEN(kept); i++)
        if (!strcmp(flag, kept[i]))
            s_add_isa(p, flag);
}

int ferry_probe_parse_cpuinfo(const char *text, size_t len, ferry_probe_t *p)
{
    int processors = 0;
    bool has_flags = false;
    char *hardware = NULL;
    size_t pos = 0;
    const char *line, *value;
    size_t line_len, value_len;
    char key[64];
    bool is_arm = p->arch && (!strcmp(p->arch, "aarch64") || !strncmp(p->arch, "arm", 3));
    if (!text)
        return 0;
    while (s_next_line(text, len, &pos, &line, &line_len)) {
        if (!s_split_colon(line, line_len, key, sizeof key, &value, &value_len))
            continue;
        if (!strcmp(key, "processor")) {
            processors++;
        } else if (!strcmp(key, "model name") && !p->cpu_model) {
            p->cpu_model = s_field(value, value_len);
        } else if (!strcmp(key, "Hardware") && !hardware) {
            hardware = s_field(value, value_len);
        } else if ((!strcmp(key, "flags") || !strcmp(key, "Features")) && !has_flags) {
            /* the first CPU's flags; hybrid CPUs list the same ISA on every core */
            has_flags = true;
            size_t i = 0;
            while (i < value_len) {
                while (i < value_len && isspace((unsigned char)value[i]))
                    i++;
                size_t start = i;
                while (i < value_len && !isspace((unsigned char)value[i]))
                    i++;
                char flag[64];
                size_t n = i - start;
                if (n == 0 || n >= sizeof flag)
                    continue;
                memcpy(flag, value + start, n);
                flag[n] = '\0';
                if (is_arm || !strcmp(key, "Features"))
                    s_arm_flag(p, flag);
                else
                    s_x86_flag(p, flag);
            }
        }
    }
    if (!p->cpu_model && hardware) {
        p->cpu_model = hardware;
        hardware = NULL;
    }
    free(hardware);
    return processors;
}

static void s_probe_meminfo(const char *path, ferry_probe_t *p)
{
    char *data = NULL;
    size_t len = 0, pos = 0;
    const char *line, *value;
    size_t line_len, value_len;
    char key[64];
    if (ferry_file_read(path, FERRY_PROBE_MAX_FILE, &data, &len) < 0)
        return;
    while (s_next_line(data, len, &pos, &line, &line_len)) {
        if (!s_split_colon(line, line_len, key, sizeof key, &value, &value_len) || strcmp(key, "MemTotal"))
            continue;
        char *field = s_field(value, value_len); /* "16384000 kB" */
        if (field && isdigit((unsigned char)field[0])) {
            errno = 0;
            char *end;
            unsigned long long kib = strtoull(field, &end, 10);
            while (isspace((unsigned char)*end))
                end++;
            if (!errno && kib <= UINT64_MAX / S_KIB && (!*end || !strcmp(end, "kB")))
                p->memory_bytes = (uint64_t)kib * S_KIB;
        }
        free(field);
        break;
    }
    free(data);
}

/* A copy of an os-release value without its quotes ("Debian GNU/Linux 12 (bookworm)"). */
static char *s_os_value(const char *v, size_t len)
{
    char *f = s_field(v, len);
    if (!f)
        return NULL;
    size_t n = strlen(f);
    if (n >= 2 && (f[0] == '"' || f[0] == '\'') && f[n - 1] == f[0]) {
        memmove(f, f + 1, n - 2);
        f[n - 2] = '\0';
    }
    if (!*f) {
        free(f);
        return NULL;
    }
    return f;
}

static void s_probe_os_release(const char *path, ferry_probe_t *p)
{
    char *data = NULL;
    size_t len = 0, pos = 0;
    const char *line;
    size_t line_len;
    char *name = NULL, *version = NULL;
    if (ferry_file_read(path, FERRY_PROBE_MAX_FILE, &data, &len) < 0)
        return;
    while (s_next_line(data, len, &pos, &line, &line_len)) {
        const char *eq = memchr(line, '=', line_len);
        if (!eq)
            continue;
        size_t klen = (size_t)(eq - line), vlen = line_len - klen - 1;
        if (klen == 11 && !strncmp(line, "PRETTY_NAME", 11) && !p->os)
            p->os = s_os_value(eq + 1, vlen);
        else if (klen == 4 && !strncmp(line, "NAME", 4) && !name)
            name = s_os_value(eq + 1, vlen);
        else if (klen == 10 && !strncmp(line, "VERSION_ID", 10) && !version)
            version = s_os_value(eq + 1, vlen);
    }
    if (!p->os && name)
        p->os = version ? ferry_asprintf("%s %s", name, version) : ferry_strdup(name);
    free(name);
    free(version);
    free(data);
}

/* ---- public API ---------------------------------------------------------------------- */

void ferry_probe_sources_default(ferry_probe_sources_t *src)
{
    memset(src, 0, sizeof *src);
    src->cpuinfo_path = "/proc/cpuinfo";
    src->meminfo_path = "/proc/meminfo";
    src->os_release_path = "/etc/os-release";
    src->nvidia_smi = "nvidia-smi";
    src->nvidia_smi_timeout_ms = FERRY_PROBE_NVSMI_TIMEOUT_MS;
    src->nvidia_proc_dir = "/proc/driver/nvidia/gpus";
    src->nvidia_version_path = "/proc/driver/nvidia/version";
    src->count_cpus_by_affinity = true;
}

int ferry_probe_run(ferry_probe_t *out, const ferry_probe_sources_t *src)
{
    ferry_probe_sources_t defaults;
    if (!src) {
        ferry_probe_sources_default(&defaults);
        src = &defaults;
    }
    memset(out, 0, sizeof *out);
    struct utsname uts;
    bool has_uname = uname(&uts) == 0;
    if (src->arch)
        out->arch = ferry_strdup(src->arch);
    else if (has_uname)
        out->arch = ferry_strdup(uts.machine);
    if (src->kernel)
        out->kernel = ferry_strdup(src->kernel);
    else if (has_uname)
        out->kernel = ferry_strdup(uts.release);

    int processors = 0;
    bool has_cpuinfo = false;
    if (src->cpuinfo_path) {
        char *data = NULL;
        size_t len = 0;
        if (ferry_file_read(src->cpuinfo_path, FERRY_PROBE_MAX_FILE, &data, &len) == 0) {
            has_cpuinfo = true;
            processors = ferry_probe_parse_cpuinfo(data, len, out);
        }
        free(data);
    }
    out->cores = src->count_cpus_by_affinity ? ferry_cpus_available() : processors;
    if (src->meminfo_path)
        s_probe_meminfo(src->meminfo_path, out);
    if (src->os_release_path)
        s_probe_os_release(src->os_release_path, out);
    s_probe_gpus(src, out);
    if (!has_cpuinfo && out->memory_bytes == 0 && (src->cpuinfo_path || src->meminfo_path))
        return -ENOENT;
    return 0;
}

bool ferry_probe_has_isa(const ferry_probe_t *p, const char *flag)
{
    for (size_t i = 0; i < p->n_isa; i++)
        if (!strcmp(p->isa[i], flag))
            return true;
    return false;
}

static void s_json_str_or_null(ferry_json_t *j, const char *key, const char *value)
{
    ferry_json_key(j, key);
    if (value)
        ferry_json_str(j, value);
    else
        ferry_json_null(j);
}

void ferry_probe_to_json(const ferry_probe_t *p, ferry_json_t *j)
{
    ferry_json_obj_begin(j);
    ferry_probe_json_fields(p, j);
    ferry_json_obj_end(j);
}

void ferry_probe_json_fields(const ferry_probe_t *p, ferry_json_t *j)
{
    s_json_str_or_null(j, "arch", p->arch);
    s_json_str_or_null(j, "cpu_model", p->cpu_model);
    ferry_json_key(j, "isa");
    ferry_json_arr_begin(j);
    for (size_t i = 0; i < p->n_isa; i++)
        ferry_json_str(j, p->isa[i]);
    ferry_json_arr_end(j);
    ferry_json_key(j, "cores");
    ferry_json_int(j, p->cores);
    ferry_json_key(j, "memory_bytes");
    ferry_json_uint(j, p->memory_bytes);
    ferry_json_key(j, "gpus");
    ferry_json_arr_begin(j);
    for (size_t i = 0; i < p->n_gpus; i++) {
        const ferry_gpu_t *g = &p->gpus[i];
        ferry_json_obj_begin(j);
        s_json_str_or_null(j, "name", g->name);
        ferry_json_key(j, "memory_bytes");
        ferry_json_uint(j, g->memory_bytes);
        s_json_str_or_null(j, "driver", g->driver);
        s_json_str_or_null(j, "compute_cap", g->compute_cap);
        s_json_str_or_null(j, "bus_id", g->bus_id);
        ferry_json_obj_end(j);
    }
    ferry_json_arr_end(j);
    s_json_str_or_null(j, "os", p->os);
    s_json_str_or_null(j, "kernel", p->kernel);
}

void ferry_probe_free(ferry_probe_t *p)
{
    if (!p)
        return;
    free(p->arch);
    free(p->cpu_model);
    for (size_t i = 0; i < p->n_isa; i++)
        free(p->isa[i]);
    free(p->isa);
    for (size_t i = 0; i < p->n_gpus; i++)
        s_gpu_free(&p->gpus[i]);
    free(p->gpus);
    free(p->os);
    free(p->kernel);
    memset(p, 0, sizeof *p);
}
