/* probe.h -- what hardware this worker has: CPU, ISA flags, cores, memory, GPUs, OS
 *
 * Used on HELLO (capabilities a scheduler matches task requirements against) and by
 * `ferry probe [--json]`. Every source (/proc files, nvidia-smi output) is treated as
 * hostile: reads are bounded, malformed lines are skipped, and a missing or hung
 * nvidia-smi costs at most FERRY_PROBE_NVSMI_TIMEOUT_MS, never the probe. */
#ifndef FERRY_PROBE_H
#define FERRY_PROBE_H

#include "util/json.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define FERRY_PROBE_MAX_FILE (4u * 1024 * 1024) /* bytes read from any one source */
#define FERRY_PROBE_MAX_ISA 64                  /* ISA flags kept */
#define FERRY_PROBE_MAX_GPUS 64                 /* GPUs kept */
#define FERRY_PROBE_MAX_FIELD 256               /* bytes kept of one text field */
#define FERRY_PROBE_NVSMI_TIMEOUT_MS 5000       /* deadline of one nvidia-smi run */

typedef struct {
    char *name;             /* "NVIDIA H200" */
    uint64_t memory_bytes;  /* total framebuffer memory; 0 when unknown */
    char *driver;           /* "580.159.04" or NULL */
    char *compute_cap;      /* "9.0" or NULL (the XML and /proc sources lack it) */
    char *bus_id;           /* "00000000:00:06.0" or NULL */
} ferry_gpu_t;

typedef struct {
    char *arch;             /* uname machine: "x86_64", "aarch64" */
    char *cpu_model;        /* "AMD EPYC 7B13" or NULL */
    char **isa;             /* normalised flags: "sse4.2", "avx2", "avx512f", "neon", "sve" ... */
    size_t n_isa;
    int cores;              /* CPUs this process may run on (like nproc) */
    uint64_t memory_bytes;  /* MemTotal of /proc/meminfo */
    ferry_gpu_t *gpus;
    size_t n_gpus;
    char *os;               /* PRETTY_NAME of os-release, or NULL */
    char *kernel;           /* uname release */
} ferry_probe_t;

/* Where the probe looks. Each NULL field means "skip that source", so tests can point at
 * fixture files only; ferry_probe_sources_default() fills in this machine's sources.
 * GPU sources are tried in this order, the first one listing a GPU wins: running
 * nvidia_smi (CSV query), nvidia_smi_csv_path, nvidia_smi_xml_path (`nvidia-smi -q -x`,
 * parsed with libxml2), nvidia_proc_dir (<dir>/<bus>/information files). */
typedef struct {
    const char *cpuinfo_path;        /* /proc/cpuinfo */
    const char *meminfo_path;        /* /proc/meminfo */
    const char *os_release_path;     /* /etc/os-release */
    const char *nvidia_smi;          /* program to run ("nvidia-smi", searched on PATH) */
    int nvidia_smi_timeout_ms;       /* 0 = FERRY_PROBE_NVSMI_TIMEOUT_MS */
    const char *nvidia_smi_csv_path; /* saved output of the CSV query (header/units allowed) */
    const char *nvidia_smi_xml_path; /* saved output of `nvidia-smi -q -x` */
    const char *nvidia_proc_dir;     /* /proc/driver/nvidia/gpus */
    const char *nvidia_version_path; /* /proc/driver/nvidia/version (driver for the /proc source) */
    const char *arch;                /* NULL = uname(2) machine */
    const char *kernel;              /* NULL = uname(2) release */
    bool count_cpus_by_affinity;     /* cores from sched_getaffinity (this machine) instead
                                        of counting cpuinfo's "processor" entries */
} ferry_probe_sources_t;

/* This machine's sources. */
void ferry_probe_sources_default(ferry_probe_sources_t *src);

/* Fill *out (zeroed first; free it with ferry_probe_free). src NULL = this machine.
 * Missing sources leave their fields empty. Returns 0, or a negative errno only when
 * nothing at all could be learned (e.g. an unreadable cpuinfo AND meminfo). */
int ferry_probe_run(ferry_probe_t *out, const ferry_probe_sources_t *src);

/* Write p as one JSON object:
 * {"arch","cpu_model","isa":[..],"cores","memory_bytes","gpus":[{"name","memory_bytes",
 *  "driver","compute_cap","bus_id"}],"os","kernel"}; absent strings are null. */
void ferry_probe_to_json(const ferry_probe_t *p, ferry_json_t *j);
/* The same keys without the enclosing braces, to embed them in a larger object. */
void ferry_probe_json_fields(const ferry_probe_t *p, ferry_json_t *j);

/* Free what p owns and zero it; safe on a zeroed or already freed probe. */
void ferry_probe_free(ferry_probe_t *p);

/* True when p lists flag among its ISA flags. */
bool ferry_probe_has_isa(const ferry_probe_t *p, const char *flag);

/* Parsers behind the sources, exposed for tests and fuzzing. Each appends the GPUs it
 * finds to *gpus and *n_gpus (up to FERRY_PROBE_MAX_GPUS) and returns how many it added. */
int ferry_probe_parse_nvsmi_csv(const char *text, size_t len, ferry_gpu_t **gpus, size_t *n_gpus);
int ferry_probe_parse_nvsmi_xml(const char *text, size_t len, ferry_gpu_t **gpus, size_t *n_gpus);
/* One /proc/driver/nvidia/gpus/<bus>/information file; driver may be NULL. */
int ferry_probe_parse_nvidia_information(const char *text, size_t len, const char *driver, ferry_gpu_t **gpus,
                                         size_t *n_gpus);
/* cpuinfo text into p->cpu_model, p->isa (for arch "x86_64" or "aarch64"), and the
 * number of "processor" entries (returned). */
int ferry_probe_parse_cpuinfo(const char *text, size_t len, ferry_probe_t *p);

#endif
