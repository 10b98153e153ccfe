/* onnx_fast.c -- single-pass wire-format reader for inspect + check (contract in onnx_fast.h)
 *
 * Three parts: (1) the reader, which validates the wire format exactly like onnx.c's
 * s_walk and records the model as flat arrays of slices and records; (2) the checker and
 * (3) the summary, which follow onnx_check.c and onnx_inspect.c statement by statement
 * (same problems, same order, same wording) over those records. The main graph's nodes
 * are parsed, and large node lists checked, on several threads (s_graph_nodes,
 * s_check_nodes_par): same records, same problems. */
#include "model/onnx_fast.h"
#include "model/onnx.h"
#include "model/onnx_wire.h"
#include "model/onnx_map.h"
#include "model/onnx_ops.h"
#include "util/cpus.h"
#include "util/mem.h"
#include "util/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#define S_MAX_VARINT 10
#define S_MAX_FIELD_NUMBER 536870911u
/* Field numbers below this are looked up in a per-message array (ONNX's go up to 25). */
#define S_FAST_FIELDS 32
#define S_ABSENT UINT32_MAX
#define S_NONE UINT32_MAX
/* Nodes with at most this many attributes find duplicates by comparing pairs. */
#define S_SMALL_ATTRS 16
/* Problem paths, as in onnx_check.c. */
#define S_GRAPH_PATH 1024
#define S_FUNCTION_PATH 512
#define S_INITIAL_SLOTS 64
/* Outputs of one node kept on the stack while its inputs and subgraphs are checked. */
#define S_SMALL_OUTPUTS 8
/* Files at least this large are hashed on a second thread. */
#define S_THREAD_HASH_BYTES ((size_t)1 << 20)
/* Strings up to this long are searched for a NUL inline. */
#define S_SHORT_STRING 16
/* How far ahead the checker prefetches the table slots of node outputs. */
#define S_PREFETCH_NODES 16
/* Operators s_node compares a node's with before hashing it (Add, Relu, Add, ...). */
#define S_RECENT_OPS 4

/* ---- slices and growable arrays ---------------------------------------------------------- */

/* Bytes [off, off+len) of the model; off == S_ABSENT: the field is absent (protobuf-c NULL).
 * Strings are cut at their first NUL, as C strings read by the tree path are. */
typedef struct {
    uint32_t off, len;
} s_sl_t;

/* Large arrays live in their own anonymous mappings: fresh pages are zero (no memset per
 * element), MAP_POPULATE / MADV_POPULATE_WRITE fault them in with one call each (page faults,
 * one by one, were a fifth of the time on a 200,000-node model), and growth is mremap (no
 * copy). Out of memory aborts, as util/mem.h's policy says. */

static void s_oom(size_t bytes)
{
    fprintf(stderr, "ferry: out of memory mapping %zu bytes\n", bytes);
    abort();
}

/* Transparent huge pages where the system allows them (madvise mode): a name table is
 * probed at random, and with 4 KiB pages most probes also missed the TLB. */
static void s_prefault(void *p, size_t bytes)
{
#ifdef MADV_HUGEPAGE
    (void)madvise(p, bytes, MADV_HUGEPAGE);
#endif
#ifdef MADV_POPULATE_WRITE
    (void)madvise(p, bytes, MADV_POPULATE_WRITE);
#endif
}

/* is_lazy: the caller prefaults the new pages itself (several threads, each its part). */
static void *s_pages_ex(void *old, size_t old_bytes, size_t new_bytes, bool is_lazy)
{
    void *p;
    if (!old) {
        p = mmap(NULL, new_bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (p == MAP_FAILED)
            s_oom(new_bytes);
        if (!is_lazy)
            s_prefault(p, new_bytes);
        return p;
    }
    p = mremap(old, old_bytes, new_bytes, MREMAP_MAYMOVE);
    if (p == MAP_FAILED)
        s_oom(new_bytes);
    if (!is_lazy)
        s_prefault((uint8_t *)p + old_bytes, new_bytes - old_bytes);
    return p;
}

static void *s_pages(void *old, size_t old_bytes, size_t new_bytes)
{
    return s_pages_ex(old, old_bytes, new_bytes, false);
}

/* s_prefault of the whole pages that bytes [p, p + bytes) touch. */
static void s_prefault_span(void *p, size_t bytes)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = (uintptr_t)p & ~(page - 1), hi = ((uintptr_t)p + bytes + page - 1) & ~(page - 1);
    if (bytes)
        s_prefault((void *)lo, hi - lo);
}

/* Arrays and tables of at least this many bytes get their own populated mapping; smaller
 * ones stay on the heap (a model of a few nodes should not cost a dozen mmap calls). */
#define S_MAPPED_BYTES ((size_t)256 << 10)
#define S_FIRST_BYTES ((size_t)1024)

typedef struct {
    void *data;
    size_t n, cap, size, bytes;
    bool is_mapped;
    size_t *budget; /* bytes all arrays of a reader may still take (shared) */
} s_vec_t;

/* Double v's room (new elements zeroed), charged to the budget; false past it. Every array
 * grows through here, so the budget spent is a function of the final lengths alone. */
static bool s_grow_ex(s_vec_t *v, bool is_lazy)
{
    size_t bytes = v->bytes ? 2 * v->bytes : S_FIRST_BYTES;
    if (bytes < v->bytes || bytes / v->size <= v->cap || bytes - v->bytes > *v->budget)
        return false;
    *v->budget -= bytes - v->bytes;
    if (v->is_mapped) {
        v->data = s_pages_ex(v->data, v->bytes, bytes, is_lazy);
    } else if (bytes >= S_MAPPED_BYTES) {
        void *p = s_pages_ex(NULL, 0, bytes, is_lazy);
        memcpy(p, v->data, v->bytes);
        free(v->data);
        v->data = p;
        v->is_mapped = true;
    } else {
        v->data = ferry_realloc(v->data, bytes);
        memset((uint8_t *)v->data + v->bytes, 0, bytes - v->bytes);
    }
    v->bytes = bytes;
    v->cap = bytes / v->size;
    return true;
}

static bool s_grow(s_vec_t *v)
{
    return s_grow_ex(v, false);
}

/* A new zeroed element at the end of v, or NULL when growing v would exceed the budget. */
static void *s_push(s_vec_t *v)
{
    if (v->n == v->cap && !s_grow(v))
        return NULL;
    return (uint8_t *)v->data + v->n++ * v->size;
}

/* Room for n elements, grown as n pushes would grow it; false past the budget. is_lazy: new
 * mapped pages are left for the caller to prefault (s_prefault_span). */
static bool s_reserve(s_vec_t *v, size_t n, bool is_lazy)
{
    while (v->cap < n)
        if (!s_grow_ex(v, is_lazy))
            return false;
    return true;
}

static void s_vec_free(s_vec_t *v)
{
    if (v->is_mapped)
        munmap(v->data, v->bytes);
    else
        free(v->data);
    v->data = NULL;
}

#define S_AT(vec, type, i) (((type *)(vec).data)[i])

/* ---- threads ------------------------------------------------------------------------------ */

/* A list of at least this many nodes is parsed and checked on several threads (FERRY_ONNX_PARALLEL_MIN
 * overrides it; tests force it down to 1). */
#define S_PAR_MIN_NODES 4096
#define S_MAX_THREADS 16
/* Fewer nodes than this per thread: fewer threads (starting one costs ~50 us). */
#define S_NODES_PER_THREAD 8192
/* Fewer free CPUs than this: one thread by default. The parallel path costs a skim of the
 * graph and a merge of the names on top of the serial work; with 2 threads it measured slower
 * than 1 on a 2-CPU VM (bench/bench_onnx.py). */
#define S_MIN_DEFAULT_THREADS 3

/* An environment override: a positive integer, or fallback. */
static unsigned long s_env_count(const char *name, unsigned long fallback)
{
    const char *v = getenv(name);
    if (!v || !*v || v[0] == '-')
        return fallback;
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    return *end || errno || n == 0 ? fallback : n;
}

/* Threads for n_nodes nodes: FERRY_ONNX_THREADS, else the online CPUs but those busy_cpus
 * (the sha256 thread's), fewer on small lists. */
static unsigned s_par_threads(uint32_t n_nodes, unsigned busy_cpus)
{
    unsigned long n = s_env_count("FERRY_ONNX_THREADS", 0);
    if (!n) {
        long cpus = ferry_cpus_available();
        n = cpus > (long)busy_cpus ? (unsigned long)cpus - busy_cpus : 1;
        if (n < S_MIN_DEFAULT_THREADS)
            n = 1;
        if (n > n_nodes / S_NODES_PER_THREAD)
            n = n_nodes / S_NODES_PER_THREAD ? n_nodes / S_NODES_PER_THREAD : 1;
    }
    if (n > S_MAX_THREADS)
        n = S_MAX_THREADS;
    return n > n_nodes ? n_nodes : (unsigned)n;
}

/* Run fn on args[0..n) (each `size` bytes), args[0] on this thread; an argument whose thread
 * cannot start runs here too. */
static void s_par_run(unsigned n, void *(*fn)(void *), void *args, size_t size)
{
    pthread_t threads[S_MAX_THREADS];
    bool is_started[S_MAX_THREADS] = {false};
    for (unsigned k = 1; k < n; k++)
        is_started[k] = pthread_create(&threads[k], NULL, fn, (uint8_t *)args + k * size) == 0;
    fn(args);
    for (unsigned k = 1; k < n; k++) {
        if (is_started[k])
            pthread_join(threads[k], NULL);
        else
            fn((uint8_t *)args + k * size);
    }
}

/* ---- records ---------------------------------------------------------------------------- */

typedef struct {
    s_sl_t name;
    bool has_data_type, has_segment, has_raw, dims_bad;
    int32_t data_type;
    uint64_t numel;
    size_t raw_len;
    size_t n_float, n_int32, n_string, n_int64, n_double, n_uint64;
    uint64_t string_bytes;
} s_tensor_t;

typedef struct {
    uint8_t which; /* 0: no value, 1: dim_value, 2: dim_param */
    int64_t value;
    s_sl_t param;
} s_dim_t;

typedef struct {
    s_sl_t name;
    bool has_type, has_elem_type, has_shape;
    uint32_t kind; /* TypeProto field number of the value (0: none) */
    int32_t elem_type;
    uint32_t dim_first, n_dims;
} s_vi_t;

typedef struct {
    s_sl_t name, ref_attr_name;
    bool has_type, has_t, has_g, has_sparse, has_tp;
    int32_t type;
    uint32_t t, g; /* attribute tensor index; graph index */
    uint32_t tensors_first, n_tensors, graphs_first, n_graphs;
} s_attr_t;

/* A node in 32 bytes. Its name and its inputs and outputs are not stored: they are read
 * again from the node's bytes [start, end) when needed (on a 200,000-node model, writing
 * them to fresh memory cost more than reading them twice). */
typedef struct {
    uint32_t start, end;
    uint32_t op;        /* index in s_rd_t.ops: the (domain, op_type) pair */
    uint32_t out0_hash; /* hash of the first output's name: a prefetch hint for the checker */
    uint32_t n_in, n_out, attr_first, n_attr;
} s_node_t;

/* A distinct (canonical domain, op_type) pair of the model. */
typedef struct {
    s_sl_t domain, op;
} s_op_t;

/* An operator s_node interned lately, tried before the table (a graph mostly repeats a few). */
typedef struct {
    s_sl_t domain, op;
    uint32_t index;
} s_recent_op_t;

/* How many nodes of the main graph use an operator, and the first of them. */
typedef struct {
    uint32_t first, op, count;
} s_op_use_t;

typedef struct {
    bool has_values;
    s_sl_t name;
} s_sparse_t;

typedef struct {
    uint32_t node_first, n_node, input_first, n_input, output_first, n_output, init_first, n_init;
    uint32_t sparse_first, n_sparse;
    uint64_t n_strs, n_outs; /* inputs + outputs, outputs of all its nodes: size the parallel check */
} s_graph_t;

typedef struct {
    s_sl_t domain;
    bool has_version;
    int64_t version;
} s_opset_t;

typedef struct {
    s_sl_t name, domain;
    uint32_t in_first, n_in, out_first, n_out, node_first, n_node, opset_first, n_opset;
    uint64_t n_strs, n_outs; /* inputs + outputs, outputs of all its nodes */
} s_func_t;

typedef struct {
    s_sl_t key, value;
} s_entry_t;

/* A graph whose parse is deferred until its parent is done, so every list stays contiguous. */
typedef struct {
    size_t start, end;
    int depth;
    bool is_attr_g; /* target: attrs[index].g, else graph_refs[index] (or the main graph) */
    uint32_t index;
} s_job_t;

/* Field lookup of one message type. */
typedef struct {
    const ProtobufCMessageDescriptor *desc;
    const ProtobufCFieldDescriptor *by_number[S_FAST_FIELDS];
} s_msg_t;

/* One name of a table: value 0 marks an empty slot; S_PRESENT / S_DEFINED in scope tables
 * (the name is known / defined so far), S_PRODUCER + node index in producer tables. */
typedef struct {
    uint32_t off, len, hash, value;
} s_slot_t;

#define S_PRESENT 1u
#define S_DEFINED 2u
#define S_PRODUCER 2u

typedef struct {
    s_slot_t *slots;
    size_t cap, count;
    bool is_mapped; /* slots in their own mapping (large tables), else on the heap */
} s_names_t;

/* (domain, op_type) slices -> a small integer: a model has few distinct operators, so the
 * per-node lookups of the checker and the summary hit this table and build no strings. */
typedef struct {
    s_sl_t domain, op;
    uint32_t hash, value; /* value + 1; 0: empty slot */
} s_pair_slot_t;

typedef struct {
    s_pair_slot_t *slots;
    size_t cap, count;
} s_pairs_t;

enum { S_MODEL, S_GRAPH, S_NODE, S_ATTR, S_TENSOR, S_VI, S_TYPE, S_TYPE_TENSOR, S_SHAPE, S_DIM, S_OPSET, S_ENTRY,
       S_FUNC, S_SPARSE, S_N_MSG };

typedef struct {
    const uint8_t *data;
    size_t len;
    bool fallback;
    size_t budget; /* bytes the arrays may still take: past it, the loader decides */
    s_msg_t msgs[S_N_MSG];
    /* model */
    bool has_ir_version, has_model_version, has_graph;
    int64_t ir_version, model_version;
    s_sl_t producer_name, producer_version, domain;
    uint32_t main_graph;
    uint32_t opset_first, n_opset, meta_first, n_meta, func_first, n_func;
    /* flat arrays */
    s_vec_t graphs, nodes, attrs, vis, dims, inits, attr_tensors, sparses, opsets, funcs, entries;
    s_vec_t fn_inputs, fn_outputs; /* s_sl_t */
    s_vec_t graph_refs;                             /* uint32_t graph indices */
    s_vec_t ops;                                    /* s_op_t */
    s_pairs_t op_ids;                               /* (domain, op_type) -> index in ops */
    s_recent_op_t recent_ops[S_RECENT_OPS];         /* the last distinct operators of s_node */
    unsigned n_recent_ops, next_recent_op;
    s_vec_t jobs;
    /* the main graph's operators, counted while its nodes were parsed in parallel (none of
     * them has a subgraph then); NULL otherwise */
    s_op_use_t *main_ops;
    size_t n_main_ops;
    unsigned busy_cpus; /* CPUs other threads use meanwhile (the sha256 of the file) */
} s_rd_t;

static inline const char *s_ptr(const s_rd_t *r, s_sl_t s)
{
    return (const char *)r->data + (s.off == S_ABSENT ? 0 : s.off);
}

static bool s_is_canonical_default(const s_rd_t *r, s_sl_t d)
{
    return d.off == S_ABSENT || (d.len == 7 && !memcmp(s_ptr(r, d), "ai.onnx", 7));
}

/* Canonical domain of a slice: "" for absent and "ai.onnx". */
static s_sl_t s_canonical(const s_rd_t *r, s_sl_t d)
{
    return s_is_canonical_default(r, d) ? (s_sl_t){0, 0} : d;
}

/* ---- slice hash map --------------------------------------------------------------------- */



static void s_names_free(s_names_t *m)
{
    if (m->is_mapped)
        munmap(m->slots, m->cap * sizeof *m->slots);
    else
        free(m->slots);
    memset(m, 0, sizeof *m);
}

/* Loads of 2, 4 and 8 unaligned bytes (compiled to single moves). */
static inline uint64_t s_load16(const uint8_t *p)
{
    uint16_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t s_load32(const uint8_t *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline uint64_t s_load64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

/* Bytes p[0..n), n < 8, as a little-endian word (byte i at bits 8i): two overlapping loads
 * within the n bytes instead of a loop (the overlap holds the same bytes at the same bits). */
static inline uint64_t s_tail(const uint8_t *p, size_t n)
{
    if (n >= 4)
        return s_load32(p) | s_load32(p + n - 4) << (8 * (n - 4));
    if (n >= 2)
        return s_load16(p) | s_load16(p + n - 2) << (8 * (n - 2));
    return n ? p[0] : 0;
}

static inline uint32_t s_hash(const uint8_t *p, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ n;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
        p += 8;
        n -= 8;
    }
    h ^= s_tail(p, n); /* without a variable-length memcpy (a call) */ /* murmur3's fmix64: every input bit reaches the low bits the table indexes with */
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return (uint32_t)h;
}

/* Names are short: compare them inline, memcmp only for long ones. */
static inline bool s_bytes_eq(const uint8_t *a, const uint8_t *b, size_t n)
{
    if (n < 8)
        return s_tail(a, n) == s_tail(b, n);
    if (n <= 16)
        return s_load64(a) == s_load64(b) && s_load64(a + n - 8) == s_load64(b + n - 8);
    return !memcmp(a, b, n);
}

static inline bool s_sl_eq(const s_rd_t *r, s_sl_t a, s_sl_t b)
{
    return a.len == b.len && s_bytes_eq((const uint8_t *)s_ptr(r, a), (const uint8_t *)s_ptr(r, b), a.len);
}

static inline uint32_t s_hash_sl(const s_rd_t *r, s_sl_t s)
{
    return s_hash((const uint8_t *)s_ptr(r, s), s.len);
}


static inline uint32_t s_pair_hash(const s_rd_t *r, s_sl_t domain, s_sl_t op)
{
    return s_hash_sl(r, op) ^ (s_hash_sl(r, domain) * 0x9e3779b9u);
}

static bool s_pairs_get(const s_rd_t *r, const s_pairs_t *m, s_sl_t domain, s_sl_t op, uint32_t h, uint32_t *value)
{
    if (!m->cap)
        return false;
    for (size_t i = h & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
        const s_pair_slot_t *e = &m->slots[i];
        if (!e->value)
            return false;
        if (e->hash == h && s_sl_eq(r, e->op, op) && s_sl_eq(r, e->domain, domain)) {
            *value = e->value - 1;
            return true;
        }
    }
}

static void s_pairs_put(s_pairs_t *m, s_sl_t domain, s_sl_t op, uint32_t h, uint32_t value)
{
    if (2 * (m->count + 1) > m->cap) {
        size_t cap = m->cap ? 2 * m->cap : S_INITIAL_SLOTS;
        s_pair_slot_t *slots = ferry_calloc(cap, sizeof *slots);
        for (size_t k = 0; k < m->cap; k++) {
            if (!m->slots[k].value)
                continue;
            size_t i = m->slots[k].hash & (cap - 1);
            while (slots[i].value)
                i = (i + 1) & (cap - 1);
            slots[i] = m->slots[k];
        }
        free(m->slots);
        m->slots = slots;
        m->cap = cap;
    }
    size_t i = h & (m->cap - 1);
    while (m->slots[i].value)
        i = (i + 1) & (m->cap - 1);
    m->slots[i] = (s_pair_slot_t){domain, op, h, value + 1};
    m->count++;
}

static void s_pairs_free(s_pairs_t *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static inline __attribute__((always_inline)) s_slot_t *s_names_find(const s_names_t *m, const uint8_t *base,
                                                                     const uint8_t *key, size_t n, uint32_t h)
{
    if (!m->cap)
        return NULL;
    size_t mask = m->cap - 1;
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        s_slot_t *s = &m->slots[i];
        if (!s->value)
            return NULL;
        if (s->hash == h && s->len == n && s_bytes_eq(base + s->off, key, n))
            return s;
    }
}

static void s_names_grow(s_names_t *m, size_t want)
{
    size_t cap = m->cap ? m->cap : S_INITIAL_SLOTS;
    while (2 * want > cap)
        cap *= 2;
    if (cap == m->cap)
        return;
    bool is_mapped = cap * sizeof(s_slot_t) >= S_MAPPED_BYTES;
    s_slot_t *slots = is_mapped ? s_pages(NULL, 0, cap * sizeof *slots) : ferry_calloc(cap, sizeof *slots);
    for (size_t k = 0; k < m->cap; k++) {
        if (!m->slots[k].value)
            continue;
        size_t i = m->slots[k].hash & (cap - 1);
        while (slots[i].value)
            i = (i + 1) & (cap - 1);
        slots[i] = m->slots[k];
    }
    s_names_free(m);
    m->slots = slots;
    m->cap = cap;
    m->is_mapped = is_mapped;
}

/* The slot of name s (a slice of base), added (S_PRESENT) when missing. */
static s_slot_t *s_names_add(s_names_t *m, const uint8_t *base, s_sl_t s, uint32_t h)
{
    const uint8_t *key = base + (s.off == S_ABSENT ? 0 : s.off);
    s_slot_t *found = s_names_find(m, base, key, s.len, h);
    if (found)
        return found;
    if (2 * (m->count + 1) > m->cap)
        s_names_grow(m, m->count + 1);
    size_t mask = m->cap - 1, i = h & mask;
    while (m->slots[i].value)
        i = (i + 1) & mask;
    m->slots[i] = (s_slot_t){s.off == S_ABSENT ? 0 : s.off, s.len, h, S_PRESENT};
    m->count++;
    return &m->slots[i];
}


/* ---- wire format ------------------------------------------------------------------------ */

static inline int s_varint(const uint8_t *p, size_t avail, uint64_t *value, size_t *used)
{
    if (avail && p[0] < 0x80) {
        *value = p[0];
        *used = 1;
        return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < S_MAX_VARINT && i < avail; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            if (i == S_MAX_VARINT - 1 && p[i] > 1)
                return -1;
            *value = v;
            *used = i + 1;
            return 0;
        }
    }
    return -1;
}

static void s_msg_init(s_msg_t *m, const ProtobufCMessageDescriptor *desc)
{
    m->desc = desc;
    for (unsigned i = 0; i < S_FAST_FIELDS; i++)
        m->by_number[i] = i ? protobuf_c_message_descriptor_get_field(desc, i) : NULL;
}

typedef struct {
    uint32_t number;
    unsigned wire;
    uint64_t value;     /* wire 0: the value; packed repeated: the element count */
    size_t start, end;  /* wire 1, 2, 5: the payload */
    const ProtobufCFieldDescriptor *fd;
} s_field_t;

/* Next field of a message ending at end, validated as onnx.c's s_walk does (everything but
 * the recursion into sub-messages, which the caller does). Returns 1 with *f filled, 0 at
 * the end, -1 on a wire error (the caller falls back). */
static int s_next(const s_rd_t *r, const ProtobufCMessageDescriptor *desc, const s_msg_t *m, size_t *pos, size_t end,
                  s_field_t *f)
{
    if (*pos >= end)
        return 0;
    const uint8_t *d = r->data;
    size_t used;
    uint64_t tag;
    if (s_varint(d + *pos, end - *pos, &tag, &used) < 0 || used > FERRY_ONNX_WIRE_MAX_TAG_BYTES)
        return -1;
    *pos += used;
    uint64_t number = tag >> 3;
    f->wire = (unsigned)(tag & 7);
    if (number == 0 || number > S_MAX_FIELD_NUMBER)
        return -1;
    f->number = (uint32_t)number;
    f->fd = m && number < S_FAST_FIELDS ? m->by_number[number]
                                        : protobuf_c_message_descriptor_get_field(desc, (unsigned)number);
    switch (f->wire) {
    case 0:
        if (s_varint(d + *pos, end - *pos, &f->value, &used) < 0)
            return -1;
        if (f->fd && !ferry_onnx_wire_is_varint(f->fd->type))
            return -1;
        *pos += used;
        return 1;
    case 1:
    case 5: {
        size_t size = f->wire == 1 ? 8 : 4;
        if (end - *pos < size || (f->fd && ferry_onnx_wire_fixed_size(f->fd->type) != size))
            return -1;
        f->start = *pos;
        f->end = *pos += size;
        return 1;
    }
    case 2: {
        uint64_t plen;
        if (s_varint(d + *pos, end - *pos, &plen, &used) < 0)
            return -1;
        *pos += used;
        if (plen > end - *pos || plen > FERRY_ONNX_MAX_PROTO_BYTES)
            return -1;
        f->start = *pos;
        f->end = *pos += (size_t)plen;
        if (!f->fd)
            return 1;
        ProtobufCType t = f->fd->type;
        if (t == PROTOBUF_C_TYPE_MESSAGE || t == PROTOBUF_C_TYPE_BYTES || t == PROTOBUF_C_TYPE_STRING)
            return 1;
        if (f->fd->label != PROTOBUF_C_LABEL_REPEATED)
            return -1;
        size_t fixed = ferry_onnx_wire_fixed_size(t);
        if (fixed) {
            if (plen % fixed)
                return -1;
            f->value = plen / fixed;
            return 1;
        }
        f->value = 0;
        uint64_t v;
        for (size_t p = f->start; p < f->end; p += used, f->value++)
            if (s_varint(d + p, f->end - p, &v, &used) < 0)
                return -1;
        return 1;
    }
    default:
        return -1; /* groups (3, 4) and invalid wire types */
    }
}

/* Is there a 0 among bytes p[0..n), n <= 16? Word tests over (overlapping) loads within the
 * n bytes: (w - 0x01..01) & ~w & 0x80..80 is nonzero iff w has a zero byte. */
static inline bool s_has_nul(const uint8_t *p, size_t n)
{
    const uint64_t ones = 0x0101010101010101ull, highs = 0x8080808080808080ull;
    uint64_t a, b;
    if (n >= 8) {
        a = s_load64(p);
        b = s_load64(p + n - 8);
    } else if (n >= 4) {
        a = s_load32(p) | 0xffffffff00000000ull;
        b = s_load32(p + n - 4) | 0xffffffff00000000ull;
    } else {
        for (size_t i = 0; i < n; i++)
            if (!p[i])
                return true;
        return false;
    }
    return (((a - ones) & ~a) | ((b - ones) & ~b)) & highs;
}

static inline s_sl_t s_string(const s_rd_t *r, const s_field_t *f)
{
    size_t n = f->end - f->start;
    const uint8_t *p = r->data + f->start;
    if (n <= S_SHORT_STRING) { /* most names: word tests beat a call to memchr */
        if (!s_has_nul(p, n))
            return (s_sl_t){(uint32_t)f->start, (uint32_t)n};
        for (size_t i = 0; i < n; i++)
            if (!p[i])
                return (s_sl_t){(uint32_t)f->start, (uint32_t)i};
        return (s_sl_t){(uint32_t)f->start, (uint32_t)n};
    }
    const uint8_t *nul = memchr(p, 0, n);
    if (nul)
        n = (size_t)(nul - p);
    return (s_sl_t){(uint32_t)f->start, (uint32_t)n};
}

static inline int s_fail(s_rd_t *r)
{
    r->fallback = true;
    return -1;
}

/* The strings of field `number` of a node (1: input, 2: output), in order, read again from
 * its bytes, which s_node validated (the bounds are checked all the same). */
typedef struct {
    size_t pos, end;
    uint32_t number; /* 0: inputs and outputs both */
    uint32_t found;  /* field number of the string returned last */
} s_strs_t;

static inline s_strs_t s_node_strs(const s_node_t *n, uint32_t number)
{
    return (s_strs_t){n->start, n->end, number, 0};
}

/* always_inline: called per input and output by the checker, where the call (the iterator
 * in memory) cost a third of the walk */
static inline __attribute__((always_inline)) bool s_strs_next(const s_rd_t *r, s_strs_t *it, s_sl_t *out)
{
    const uint8_t *d = r->data;
    size_t pos = it->pos; /* in locals: stores through out may alias *it for the compiler */
    const size_t end = it->end;
    const uint32_t want = it->number;
    while (pos < end) {
        uint64_t tag, v;
        size_t used;
        s_field_t f;
        /* most fields: a string (wire type 2) with a one-byte tag and a one-byte length */
        if (end - pos >= 2 && d[pos] < 0x80 && (d[pos] & 7) == 2 && d[pos + 1] < 0x80) {
            tag = d[pos];
            f.start = pos + 2;
            f.end = f.start + d[pos + 1];
            if (f.end > end)
                return false;
        } else {
            if (s_varint(d + pos, end - pos, &tag, &used) < 0)
                return false;
            pos += used;
            switch (tag & 7) {
            case 0:
                if (s_varint(d + pos, end - pos, &v, &used) < 0)
                    return false;
                pos += used;
                continue;
            case 1:
            case 5: {
                size_t size = (tag & 7) == 1 ? 8 : 4;
                if (end - pos < size)
                    return false;
                pos += size;
                continue;
            }
            case 2:
                if (s_varint(d + pos, end - pos, &v, &used) < 0)
                    return false;
                pos += used;
                if (v > end - pos)
                    return false;
                f.start = pos;
                f.end = pos + (size_t)v;
                break;
            default:
                return false;
            }
        }
        pos = f.end;
        uint64_t number = tag >> 3; /* input / output: strings, so always wire type 2 */
        if (number == want || (want == 0 && (number == 1 || number == 2))) {
            it->pos = pos;
            it->found = (uint32_t)number;
            *out = s_string(r, &f);
            return true;
        }
    }
    it->pos = pos;
    return false;
}

/* A node's name (the last name field, as protobuf-c keeps), read again from its bytes. */
static s_sl_t s_node_name(const s_rd_t *r, const s_node_t *n)
{
    s_strs_t it = s_node_strs(n, 3);
    s_sl_t name = {S_ABSENT, 0}, v;
    while (s_strs_next(r, &it, &v))
        name = v;
    return name;
}

/* Append one element to a list given as (first, n) of vec; a list whose elements are not
 * adjacent (interleaved with another list of the same array) falls back. */
static void *s_list_push(s_rd_t *r, s_vec_t *vec, uint32_t *first, uint32_t *n)
{
    if (*n == 0)
        *first = (uint32_t)vec->n;
    else if ((size_t)*first + *n != vec->n)
        return s_fail(r), NULL;
    if (vec->n >= UINT32_MAX - 1)
        return s_fail(r), NULL;
    (*n)++;
    void *p = s_push(vec);
    return p ? p : (s_fail(r), NULL);
}

/* Generic validation of a message this reader does not record (training info, sparse
 * tensors' indices, sequence/map types, ...), with the fallback rules of onnx_fast.h. */
static int s_skip(s_rd_t *r, const ProtobufCMessageDescriptor *desc, size_t start, size_t end, int depth)
{
    uint64_t seen = 0;
    bool oneof_seen = false, raw_seen = false;
    bool is_tensor = desc == &onnx__tensor_proto__descriptor;
    size_t pos = start;
    s_field_t f;
    int rc;
    while ((rc = s_next(r, desc, NULL, &pos, end, &f)) > 0) {
        if (!f.fd)
            continue;
        if (is_tensor && f.number == 14 && f.wire == 0 && (int32_t)f.value == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
            return s_fail(r);
        if (is_tensor && f.number == 9) {
            if (raw_seen)
                return s_fail(r);
            raw_seen = true;
        }
        if (f.fd->type != PROTOBUF_C_TYPE_MESSAGE || f.wire != 2)
            continue;
        if (f.fd->label != PROTOBUF_C_LABEL_REPEATED) {
            uint64_t bit = f.number < 64 ? (uint64_t)1 << f.number : 0;
            if (!bit || (seen & bit))
                return s_fail(r);
            seen |= bit;
            if (f.fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
                if (oneof_seen)
                    return s_fail(r);
                oneof_seen = true;
            }
        }
        if (depth + 1 > FERRY_ONNX_MAX_DEPTH)
            return s_fail(r);
        if (s_skip(r, f.fd->descriptor, f.start, f.end, depth + 1) < 0)
            return -1;
    }
    return rc < 0 ? s_fail(r) : 0;
}

/* Enter a sub-message field: nesting bound, and singular message fields given once. */
static int s_enter(s_rd_t *r, const s_field_t *f, int depth, uint64_t *seen)
{
    if (f->wire != 2 || !f->fd || f->fd->type != PROTOBUF_C_TYPE_MESSAGE)
        return s_fail(r); /* not reached: s_next validated the wire type */
    if (depth + 1 > FERRY_ONNX_MAX_DEPTH)
        return s_fail(r);
    if (seen && f->fd->label != PROTOBUF_C_LABEL_REPEATED) {
        uint64_t bit = (uint64_t)1 << (f->number & 63);
        if (*seen & bit)
            return s_fail(r);
        *seen |= bit;
    }
    return 0;
}

/* Is f a length-delimited field of this message type (else: a scalar we skip)? */
#define S_IS_LEN(f) ((f).wire == 2)

static int s_tensor(s_rd_t *r, s_tensor_t *t, size_t start, size_t end, int depth)
{
    const s_msg_t *m = &r->msgs[S_TENSOR];
    size_t pos = start;
    s_field_t f;
    uint64_t seen = 0;
    int rc;
    t->name.off = S_ABSENT;
    t->numel = 1;
    while ((rc = s_next(r, m->desc, m, &pos, end, &f)) > 0) {
        if (!f.fd)
            continue;
        switch (f.number) {
        case 1: /* dims, packed or not: the product as ferry_onnx_tensor_numel computes it */
            if (f.wire == 0) {
                int64_t dim = (int64_t)f.value;
                if (!t->dims_bad) {
                    if (dim < 0 || (dim && t->numel > ((uint64_t)1 << 62) / (uint64_t)dim))
                        t->dims_bad = true;
                    else
                        t->numel *= (uint64_t)dim;
                }
            } else {
                size_t used = 1;
                uint64_t v = 0;
                for (size_t p = f.start; p < f.end; p += used) {
                    if (s_varint(r->data + p, f.end - p, &v, &used) < 0) /* validated by s_next */
                        return s_fail(r);
                    int64_t dim = (int64_t)v;
                    if (t->dims_bad)
                        continue;
                    if (dim < 0 || (dim && t->numel > ((uint64_t)1 << 62) / (uint64_t)dim))
                        t->dims_bad = true;
                    else
                        t->numel *= (uint64_t)dim;
                }
            }
            break;
        case 2: t->has_data_type = true; t->data_type = (int32_t)(uint32_t)f.value; break;
        case 3:
            if (s_enter(r, &f, depth, &seen) < 0 || s_skip(r, f.fd->descriptor, f.start, f.end, depth + 1) < 0)
                return -1;
            t->has_segment = true;
            break;
        case 4: t->n_float += S_IS_LEN(f) ? f.value : 1; break;
        case 5: t->n_int32 += S_IS_LEN(f) ? f.value : 1; break;
        case 6: t->n_string++; t->string_bytes += f.end - f.start; break;
        case 7: t->n_int64 += S_IS_LEN(f) ? f.value : 1; break;
        case 8: t->name = s_string(r, &f); break;
        case 9:
            if (t->has_raw)
                return s_fail(r); /* protobuf-c keeps the last; the loader refuses large ones */
            t->has_raw = true;
            t->raw_len = f.end - f.start;
            break;
        case 10: t->n_double += S_IS_LEN(f) ? f.value : 1; break;
        case 11: t->n_uint64 += S_IS_LEN(f) ? f.value : 1; break;
        case 13:
            if (s_enter(r, &f, depth, NULL) < 0 || s_skip(r, f.fd->descriptor, f.start, f.end, depth + 1) < 0)
                return -1;
            break;
        case 14:
            if ((int32_t)(uint32_t)f.value == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL)
                return s_fail(r); /* external data: the loader resolves and confines it */
            break;
        default:
            if (f.fd->type == PROTOBUF_C_TYPE_MESSAGE &&
                (s_enter(r, &f, depth, &seen) < 0 || s_skip(r, f.fd->descriptor, f.start, f.end, depth + 1) < 0))
                return -1;
            break;
        }
    }
    return rc < 0 ? s_fail(r) : 0;
}

static int s_shape(s_rd_t *r, s_vi_t *vi, size_t start, size_t end, int depth)
{
    const s_msg_t *m = &r->msgs[S_SHAPE], *md = &r->msgs[S_DIM];
    size_t pos = start;
    s_field_t f;
    int rc;
    while ((rc = s_next(r, m->desc, m, &pos, end, &f)) > 0) {
        if (!f.fd)
            continue;
        if (s_enter(r, &f, depth, NULL) < 0)
            return -1;
        if (f.number != 1) {
            if (s_skip(r, f.fd->descriptor, f.start, f.end, depth + 1) < 0)
                return -1;
            continue;
        }
        s_dim_t *dim = s_list_push(r, &r->dims, &vi->dim_first, &vi->n_dims);
        if (!dim)
            return -1;
        size_t dpos = f.start;
        s_field_t g;
        int drc;
        while ((drc = s_next(r, md->desc, md, &dpos, f.end, &g)) > 0) {
            if (g.number == 1 && g.fd) {
                dim->which = 1;
                dim->value = (int64_t)g.value;
            } else if (g.number == 2 && g.fd) {
                dim->which = 2;
                dim->param = s_string(r, &g);
            }
        }
        if (drc < 0)
            return s_fail(r);
    }
    return rc < 0 ? s_fail(r) : 0;
}

/* TypeProto.Tensor and TypeProto.SparseTensor: elem_type (1), shape (2). */
static int s_type_tensor(s_rd_t *r, s_vi_t *vi, const ProtobufCMessageDescriptor *desc, size_t start, size_t end,
                         int depth)
{
    size_t pos = start;
    s_field_t f;
    uint64_t seen = 0;
    int rc;
    while ((rc = s_next(r, desc, NULL, &pos, end, &f)) > 0) {
        if (!f.fd)
            continue;
        if (f.number == 1) {
            vi->has_elem_type = true;
            vi->elem_type = (int32_t)(uint32_t)f.value;
        } else if (f.fd->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (s_enter(r, &f, depth, &seen) < 0)
                return -1;
            if (f.number == 2) {
                vi->has_shape = true;
                if (s_shape(r, vi, f.start, f.end, depth + 1) < 0)
                    return -1;
            } else if (s_skip(r, f.fd->descriptor, f.start, f.end, depth + 1) < 0) {
                return -1;
            }
        }
    }
    return rc < 0 ? s_fail(r) : 0;
}

static int s_type(s_rd_t *r, s_vi_t *vi, size_t start, size_t end, int depth)
{
    const s_msg_t *m = &r->msgs[S_TYPE];
    size_t pos = start;
    s_field_t f;
    int rc;
    while ((rc = s_next(r, m->desc, m, &pos, end, &f)) > 0) {
        if (!f.fd || f.fd->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (s_enter(r, &f, depth, NULL) < 0)
            return -1;
        if (f.fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
            if (vi->kind)
                return s_fail(r); /* a second value: protobuf-c merges or replaces */
            vi->kind = f.number;
        }
        if (f.number == 1 || f.number == 8) {
            if (s_type_tensor(r, vi, f.fd->descriptor, f.start, f.end, depth + 1) < 0)
                return -1;
        } else if (s_skip(r, f.fd->descriptor, f.start, f.end, depth + 1) < 0) {
            return -1;
        }
    }
    return rc < 0 ? s_fail(r) : 0;
}

static int s_value_info(s_rd_t *r, s_vi_t *vi, size_t start, size_t end, int depth)
{
    const s_msg_t *m = &r->msgs[S_VI];
    size_t pos = start;
    s_field_t f;
    uint64_t seen = 0;
    int rc;
    vi->name.off = S_ABSENT;
    while ((rc = s_next(r, m->desc, m, &pos, end, &f)) > 0) {
        if (!f.fd)
            continue;
        if (f.number == 1) {
            vi->name = s_string(r, &f);
        } else if (f.fd->type == PROTOBUF_C_TYPE_MESSAGE) {
            if (s_enter(r, &f, depth, &seen) < 0)
                return -1;
            if (f.number == 2) {
                vi->has_type = true;
                if (s_type(r, vi, f.start, f.end, depth + 1) < 0)
                    return -1;
            } else if (s_skip(r, f.fd->descriptor, f.start, f.end, depth + 1) < 0) {
                return -1;
            }
        }
    }
    return rc < 0 ? s_fail(r) : 0;
}

/* Defer a graph: parsed after the current one, so lists never interleave. */
static int s_defer(s_rd_t *r, const s_field_t *f, int depth, bool is_attr_g, uint32_t index)
{
    s_job_t *j = s_push(&r->jobs);
    if (!j)
        return s_fail(r);
    *j = (s_job_t){f->start, f->end, depth, is_attr_g, index};
    return 0;
}

static int s_attribute(s_rd_t *r, s_attr_t *a, uint32_t attr_index, size_t start, size_t end, int depth)
{
    const s_msg_t *m = &r->msgs[S_ATTR];
    size_t pos = start;
    s_field_t f;
    uint64_t seen = 0;
    int rc;
    a->name.off = a->ref_attr_name.off = S_ABSENT;
    a->t = a->g = S_NONE;
    while ((rc = s_next(r, m->desc, m, &pos, end, &f)) > 0) {
        if (!f.fd)
            continue;
        switch (f.number) {
        case 1: a->name = s_string(r, &f); break;
        case 21: a->ref_attr_name = s_string(r, &f); break;
        case 20: a->has_type = true; a->type = (int32_t)(uint32_t)f.value; break;
        case 5: {
            if (s_enter(r, &f, depth, &seen) < 0)
                return -1;
            a->has_t = true;
            a->t = (uint32_t)r->attr_tensors.n;
            s_tensor_t *t = s_push(&r->attr_tensors);
            if (!t || s_tensor(r, t, f.start, f.end, depth + 1) < 0)
                return -1;
            break;
        }
        case 10: {
            if (s_enter(r, &f, depth, NULL) < 0)
                return -1;
            s_tensor_t *t = s_list_push(r, &r->attr_tensors, &a->tensors_first, &a->n_tensors);
            if (!t || s_tensor(r, t, f.start, f.end, depth + 1) < 0)
                return -1;
            break;
        }
        case 6:
            if (s_enter(r, &f, depth, &seen) < 0)
                return -1;
            a->has_g = true;
            if (s_defer(r, &f, depth + 1, true, attr_index) < 0)
                return -1;
            break;
        case 11: {
            if (s_enter(r, &f, depth, NULL) < 0)
                return -1;
            uint32_t *slot = s_list_push(r, &r->graph_refs, &a->graphs_first, &a->n_graphs);
            if (!slot)
                return -1;
            *slot = S_NONE;
            if (s_defer(r, &f, depth + 1, false, (uint32_t)(r->graph_refs.n - 1)) < 0)
                return -1;
            break;
        }
        default:
            if (f.fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (s_enter(r, &f, depth, &seen) < 0 || s_skip(r, f.fd->descriptor, f.start, f.end, depth + 1) < 0)
                    return -1;
                if (f.number == 22)
                    a->has_sparse = true;
                else if (f.number == 14)
                    a->has_tp = true;
            }
            break;
        }
    }
    return rc < 0 ? s_fail(r) : 0;
}

static int s_node(s_rd_t *r, s_node_t *n, size_t start, size_t end, int depth)
{
    const s_msg_t *m = &r->msgs[S_NODE];
    size_t pos = start;
    s_field_t f;
    int rc;
    s_sl_t op_type = {S_ABSENT, 0}, domain = {S_ABSENT, 0};
    n->start = (uint32_t)start;
    n->end = (uint32_t)end;
    const uint8_t *d = r->data;
    for (;;) {
        if (pos >= end) { /* the end, as s_next would say */
            rc = 0;
            break;
        }
        /* Fast path for the strings a node is mostly made of (input 1, output 2, name 3,
         * op_type 4, domain 7) with a one-byte tag and length: what s_next would accept, and
         * a length past the end falls back just as s_next's error would. */
        if (pos + 2 <= end && d[pos + 1] < 0x80) {
            uint8_t tag = d[pos];
            if (tag == 0x0a || tag == 0x12 || tag == 0x1a || tag == 0x22 || tag == 0x3a) {
                f.start = pos + 2;
                if (d[pos + 1] > end - f.start)
                    return s_fail(r);
                f.end = pos = f.start + d[pos + 1];
                switch (tag) {
                case 0x0a:
                    if (n->n_in++ == UINT32_MAX - 1)
                        return s_fail(r);
                    break;
                case 0x12:
                    if (!n->n_out)
                        n->out0_hash = s_hash_sl(r, s_string(r, &f));
                    if (n->n_out++ == UINT32_MAX - 1)
                        return s_fail(r);
                    break;
                case 0x22: op_type = s_string(r, &f); break;
                case 0x3a: domain = s_string(r, &f); break;
                default: break; /* the name */
                }
                continue;
            }
        }
        if ((rc = s_next(r, m->desc, m, &pos, end, &f)) <= 0)
            break;
        if (!f.fd)
            continue;
        switch (f.number) {
        case 1:
        case 2: {
            if (f.number == 2 && !n->n_out)
                n->out0_hash = s_hash_sl(r, s_string(r, &f));
            if (f.number == 1 ? n->n_in++ == UINT32_MAX - 1 : n->n_out++ == UINT32_MAX - 1)
                return s_fail(r);
            break;
        }
        case 3: break; /* name: read again by s_node_name when a problem names it */
        case 4: op_type = s_string(r, &f); break;
        case 7: domain = s_string(r, &f); break;
        case 5: {
            if (s_enter(r, &f, depth, NULL) < 0)
                return -1;
            s_attr_t *a = s_list_push(r, &r->attrs, &n->attr_first, &n->n_attr);
            if (!a || s_attribute(r, a, (uint32_t)(r->attrs.n - 1), f.start, f.end, depth + 1) < 0)
                return -1;
            break;
        }
        default:
            if (f.fd->type == PROTOBUF_C_TYPE_MESSAGE &&
                (s_enter(r, &f, depth, NULL) < 0 || s_skip(r, f.fd->descriptor, f.start, f.end, depth + 1) < 0))
                return -1;
            break;
        }
    }
    if (rc < 0)
        return s_fail(r);
    /* intern the operator: the checker and the summary look it up once per distinct pair;
     * the last few pairs are compared first, as the table compares (bytes, not slices) */
    domain = domain.off == S_ABSENT ? (s_sl_t){0, 0} : s_canonical(r, domain);
    for (unsigned k = 0; k < r->n_recent_ops; k++) {
        const s_recent_op_t *e = &r->recent_ops[k];
        if (s_sl_eq(r, e->op, op_type) && s_sl_eq(r, e->domain, domain)) {
            n->op = e->index;
            return 0;
        }
    }
    uint32_t h = s_pair_hash(r, domain, op_type);
    if (!s_pairs_get(r, &r->op_ids, domain, op_type, h, &n->op)) {
        n->op = (uint32_t)r->ops.n;
        s_op_t *o = s_push(&r->ops);
        if (!o)
            return s_fail(r);
        *o = (s_op_t){domain, op_type};
        s_pairs_put(&r->op_ids, domain, op_type, h, n->op);
    }
    r->recent_ops[r->next_recent_op] = (s_recent_op_t){domain, op_type, n->op};
    r->next_recent_op = (r->next_recent_op + 1) % S_RECENT_OPS;
    if (r->n_recent_ops < S_RECENT_OPS)
        r->n_recent_ops++;
    return 0;
}

/* ---- parallel parse of the main graph's nodes ------------------------------------------- */

static void s_rd_free(s_rd_t *r);

/* A node field of a graph: its payload. */
typedef struct {
    uint32_t start, end;
} s_range_t;

/* One chunk of nodes parsed by a reader of its own (attributes, attribute tensors and
 * operators in its own arrays), the node records straight into the shared array. */
typedef struct {
    const s_rd_t *r;
    s_rd_t local;
    const s_range_t *ranges;
    uint32_t lo, hi, base; /* nodes [lo, hi) of the list, records from r->nodes[base] on */
    int depth;
    bool is_usual;      /* no subgraph, no wire error, within its budget */
    uint64_t n_strs, n_outs;
    s_op_use_t *uses;   /* per local operator */
    uint32_t *op_map;   /* local operator index -> r->ops index */
    size_t attr_base, tensor_base;
} s_parse_chunk_t;

/* A reader for one chunk: r's bytes and message tables, arrays of its own (empty). */
static void s_rd_fork(const s_rd_t *r, s_rd_t *local, size_t budget)
{
    *local = *r;
    s_vec_t *all[] = {&local->graphs, &local->nodes, &local->attrs, &local->vis, &local->dims, &local->inits,
                      &local->attr_tensors, &local->sparses, &local->opsets, &local->funcs, &local->entries,
                      &local->fn_inputs, &local->fn_outputs, &local->graph_refs, &local->jobs, &local->ops};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(all); i++)
        *all[i] = (s_vec_t){.size = all[i]->size, .budget = &local->budget};
    memset(&local->op_ids, 0, sizeof local->op_ids);
    local->n_recent_ops = local->next_recent_op = 0; /* r's operator numbers, not the chunk's */
    local->main_ops = NULL;
    local->budget = budget;
    local->fallback = false;
}

static void *s_parse_chunk(void *arg)
{
    s_parse_chunk_t *ch = arg;
    s_rd_t *lr = &ch->local;
    s_node_t *nodes = &S_AT(ch->r->nodes, s_node_t, ch->base);
    ch->is_usual = true;
    if (ch->r->nodes.is_mapped) /* the reserve left its new pages to the chunks */
        s_prefault_span(&nodes[ch->lo], (size_t)(ch->hi - ch->lo) * sizeof *nodes);
    for (uint32_t i = ch->lo; i < ch->hi; i++) {
        s_node_t *n = &nodes[i];
        if (s_node(lr, n, ch->ranges[i].start, ch->ranges[i].end, ch->depth) < 0 || lr->jobs.n) {
            ch->is_usual = false;
            break;
        }
        ch->n_strs += (uint64_t)n->n_in + n->n_out;
        ch->n_outs += n->n_out;
    }
    return NULL;
}

static int s_cmp_op_use(const void *a, const void *b)
{
    const s_op_use_t *x = a, *y = b;
    return x->first < y->first ? -1 : x->first > y->first;
}

/* Second pass of a chunk: its records renumbered into the shared arrays, its operators
 * counted. */
static void *s_place_chunk(void *arg)
{
    s_parse_chunk_t *ch = arg;
    const s_rd_t *r = ch->r;
    const s_rd_t *lr = &ch->local;
    s_node_t *nodes = &S_AT(r->nodes, s_node_t, ch->base);
    ch->uses = ferry_calloc(lr->ops.n + 1, sizeof *ch->uses);
    for (uint32_t i = ch->lo; i < ch->hi; i++) {
        s_op_use_t *u = &ch->uses[nodes[i].op];
        if (!u->count++)
            u->first = i;
        nodes[i].op = ch->op_map[nodes[i].op];
        if (nodes[i].n_attr)
            nodes[i].attr_first += (uint32_t)ch->attr_base;
    }
    for (size_t k = 0; k < lr->attrs.n; k++) { /* (r->attrs may have no array at all otherwise) */
        s_attr_t *attrs = &S_AT(r->attrs, s_attr_t, ch->attr_base);
        attrs[k] = S_AT(lr->attrs, s_attr_t, k);
        if (attrs[k].t != S_NONE)
            attrs[k].t += (uint32_t)ch->tensor_base;
        if (attrs[k].n_tensors)
            attrs[k].tensors_first += (uint32_t)ch->tensor_base;
    }
    if (lr->attr_tensors.n)
        memcpy(&S_AT(r->attr_tensors, s_tensor_t, ch->tensor_base), lr->attr_tensors.data,
               lr->attr_tensors.n * sizeof(s_tensor_t));
    return NULL;
}

/* The nodes of a graph, given as ranges, appended to r->nodes as s_graph would append them one
 * by one: in parallel when the list is large, with the very records, operator numbers and
 * budget spent of the serial parse; serially when a chunk meets anything the serial parse
 * must decide (a subgraph, whose job order matters; a wire error; its share of the budget). */
static int s_graph_nodes(s_rd_t *r, s_graph_t *g, const s_range_t *ranges, uint32_t n, int depth)
{
    unsigned n_threads =
        n >= s_env_count("FERRY_ONNX_PARALLEL_MIN", S_PAR_MIN_NODES) ? s_par_threads(n, r->busy_cpus) : 1;
    size_t base = r->nodes.n;
    if (n_threads > 1 && base + n < UINT32_MAX - 1) {
        if (!s_reserve(&r->nodes, base + n, true))
            return s_fail(r); /* the serial parse runs out of budget too */
        s_parse_chunk_t *chunks = ferry_calloc(n_threads, sizeof *chunks);
        for (unsigned t = 0; t < n_threads; t++) {
            s_parse_chunk_t *ch = &chunks[t];
            *ch = (s_parse_chunk_t){.r = r, .ranges = ranges, .base = (uint32_t)base, .depth = depth,
                                    .lo = (uint32_t)((uint64_t)n * t / n_threads),
                                    .hi = (uint32_t)((uint64_t)n * (t + 1) / n_threads)};
            s_rd_fork(r, &ch->local, r->budget / n_threads);
        }
        s_par_run(n_threads, s_parse_chunk, chunks, sizeof *chunks);
        bool is_usual = true;
        size_t n_attrs = r->attrs.n, n_tensors = r->attr_tensors.n;
        for (unsigned t = 0; t < n_threads; t++) {
            is_usual = is_usual && chunks[t].is_usual;
            chunks[t].attr_base = n_attrs;
            chunks[t].tensor_base = n_tensors;
            n_attrs += chunks[t].local.attrs.n;
            n_tensors += chunks[t].local.attr_tensors.n;
        }
        is_usual = is_usual && n_attrs < UINT32_MAX - 1 && n_tensors < UINT32_MAX - 1;
        /* operators numbered in order of first use, as the serial parse numbers them */
        int rc = 0;
        for (unsigned t = 0; t < n_threads && is_usual && rc == 0; t++) {
            const s_rd_t *lr = &chunks[t].local;
            chunks[t].op_map = ferry_reallocarray(NULL, lr->ops.n + 1, sizeof *chunks[t].op_map);
            for (size_t k = 0; k < lr->ops.n; k++) {
                s_op_t o = S_AT(lr->ops, s_op_t, k);
                uint32_t h = s_pair_hash(r, o.domain, o.op);
                if (!s_pairs_get(r, &r->op_ids, o.domain, o.op, h, &chunks[t].op_map[k])) {
                    chunks[t].op_map[k] = (uint32_t)r->ops.n;
                    s_op_t *slot = s_push(&r->ops);
                    if (!slot) { /* past the budget, where the serial parse gets too */
                        rc = s_fail(r);
                        break;
                    }
                    *slot = o;
                    s_pairs_put(&r->op_ids, o.domain, o.op, h, chunks[t].op_map[k]);
                }
            }
        }
        if (is_usual && rc == 0) {
            if (!s_reserve(&r->attrs, n_attrs, false) || !s_reserve(&r->attr_tensors, n_tensors, false)) {
                rc = s_fail(r);
            } else {
                s_par_run(n_threads, s_place_chunk, chunks, sizeof *chunks);
                r->nodes.n = base + n;
                r->attrs.n = n_attrs;
                r->attr_tensors.n = n_tensors;
                g->node_first = n ? (uint32_t)base : 0;
                g->n_node = n;
                /* the summary's operator counts, by operator, first use first */
                free(r->main_ops);
                r->main_ops = ferry_calloc(r->ops.n + 1, sizeof *r->main_ops);
                for (unsigned t = 0; t < n_threads; t++) {
                    g->n_strs += chunks[t].n_strs;
                    g->n_outs += chunks[t].n_outs;
                    for (size_t k = 0; k < chunks[t].local.ops.n; k++) {
                        const s_op_use_t *u = &chunks[t].uses[k];
                        s_op_use_t *all = &r->main_ops[chunks[t].op_map[k]];
                        if (u->count && !all->count)
                            all->first = u->first;
                        all->count += u->count;
                    }
                }
                r->n_main_ops = 0;
                for (size_t k = 0; k < r->ops.n; k++)
                    if (r->main_ops[k].count)
                        r->main_ops[r->n_main_ops++] = (s_op_use_t){r->main_ops[k].first, (uint32_t)k,
                                                                    r->main_ops[k].count};
                qsort(r->main_ops, r->n_main_ops, sizeof *r->main_ops, s_cmp_op_use);
            }
        }
        for (unsigned t = 0; t < n_threads; t++) {
            s_rd_free(&chunks[t].local);
            free(chunks[t].op_map);
            free(chunks[t].uses);
        }
        free(chunks);
        if (is_usual || rc < 0)
            return rc;
        /* the serial parse decides; the records it appends start zeroed, as s_push gives them */
        memset(&S_AT(r->nodes, s_node_t, base), 0, (size_t)n * sizeof(s_node_t));
    }
    for (uint32_t i = 0; i < n; i++) {
        s_node_t *node = s_list_push(r, &r->nodes, &g->node_first, &g->n_node);
        if (!node || s_node(r, node, ranges[i].start, ranges[i].end, depth) < 0)
            return -1;
        g->n_strs += (uint64_t)node->n_in + node->n_out;
        g->n_outs += node->n_out;
    }
    return 0;
}

/* s_node writes through a pointer into r->nodes, which a nested push may move: nodes never
 * nest (subgraphs are deferred), so the pointer stays valid while one node is parsed. The
 * main graph's nodes are parsed after its other fields (s_graph_nodes; no other field writes
 * the arrays nodes write, so the records are the same). */
static int s_graph(s_rd_t *r, uint32_t gi, size_t start, size_t end, int depth, bool is_main)
{
    const s_msg_t *m = &r->msgs[S_GRAPH];
    size_t pos = start;
    s_field_t f;
    int rc;
    s_graph_t g = {0};
    /* the main graph's node fields, when there may be enough of them for several threads
     * (every node takes at least 2 bytes) */
    size_t no_budget = SIZE_MAX;
    s_vec_t ranges = {.size = sizeof(s_range_t), .budget = &no_budget};
    bool is_ranged = is_main && s_par_threads(UINT32_MAX, r->busy_cpus) > 1 &&
                     (end - start) / 2 >= s_env_count("FERRY_ONNX_PARALLEL_MIN", S_PAR_MIN_NODES);
    const uint8_t *d = r->data;
    for (;;) {
        /* the common node field (tag 0x0a, a length of 1 or 2 bytes): what s_next and
         * s_enter accept, and a length past the end fails as theirs would */
        if (pos + 3 <= end && d[pos] == 0x0a && (d[pos + 1] < 0x80 || d[pos + 2] < 0x80)) {
            if (depth + 1 > FERRY_ONNX_MAX_DEPTH) {
                s_fail(r);
                goto fail;
            }
            size_t used = d[pos + 1] < 0x80 ? 1 : 2;
            size_t plen = used == 1 ? d[pos + 1] : (size_t)(d[pos + 1] & 0x7f) | (size_t)d[pos + 2] << 7;
            size_t body = pos + 1 + used;
            if (plen > end - body) {
                s_fail(r);
                goto fail;
            }
            pos = body + plen;
            if (is_ranged) {
                s_range_t *rg = s_push(&ranges);
                if (!rg)
                    goto fail; /* not reached: no budget */
                *rg = (s_range_t){(uint32_t)body, (uint32_t)pos};
                continue;
            }
            s_node_t *n = s_list_push(r, &r->nodes, &g.node_first, &g.n_node);
            if (!n || s_node(r, n, body, pos, depth + 1) < 0)
                goto fail;
            g.n_strs += (uint64_t)n->n_in + n->n_out;
            g.n_outs += n->n_out;
            continue;
        }
        if ((rc = s_next(r, m->desc, m, &pos, end, &f)) <= 0)
            break;
        if (!f.fd || f.fd->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (s_enter(r, &f, depth, NULL) < 0)
            goto fail;
        switch (f.number) {
        case 1: {
            if (is_ranged) {
                s_range_t *rg = s_push(&ranges);
                if (!rg)
                    goto fail;
                *rg = (s_range_t){(uint32_t)f.start, (uint32_t)f.end};
                break;
            }
            s_node_t *n = s_list_push(r, &r->nodes, &g.node_first, &g.n_node);
            if (!n || s_node(r, n, f.start, f.end, depth + 1) < 0)
                goto fail;
            g.n_strs += (uint64_t)n->n_in + n->n_out;
            g.n_outs += n->n_out;
            break;
        }
        case 5: {
            s_tensor_t *t = s_list_push(r, &r->inits, &g.init_first, &g.n_init);
            if (!t || s_tensor(r, t, f.start, f.end, depth + 1) < 0)
                goto fail;
            break;
        }
        case 11:
        case 12: {
            s_vi_t *vi = f.number == 11 ? s_list_push(r, &r->vis, &g.input_first, &g.n_input)
                                        : s_list_push(r, &r->vis, &g.output_first, &g.n_output);
            if (!vi || s_value_info(r, vi, f.start, f.end, depth + 1) < 0)
                goto fail;
            break;
        }
        case 15: { /* SparseTensorProto: values (1) is a TensorProto whose name counts */
            s_sparse_t *sp = s_list_push(r, &r->sparses, &g.sparse_first, &g.n_sparse);
            if (!sp)
                goto fail;
            sp->name.off = S_ABSENT;
            const s_msg_t *ms = &r->msgs[S_SPARSE];
            size_t spos = f.start;
            s_field_t h;
            uint64_t seen = 0;
            int src;
            while ((src = s_next(r, ms->desc, ms, &spos, f.end, &h)) > 0) {
                if (!h.fd || h.fd->type != PROTOBUF_C_TYPE_MESSAGE)
                    continue;
                if (s_enter(r, &h, depth + 1, &seen) < 0)
                    goto fail;
                if (h.number == 1) {
                    s_tensor_t t = {0};
                    if (s_tensor(r, &t, h.start, h.end, depth + 2) < 0)
                        goto fail;
                    sp->has_values = true;
                    sp->name = t.name;
                } else if (s_skip(r, h.fd->descriptor, h.start, h.end, depth + 2) < 0) {
                    goto fail;
                }
            }
            if (src < 0) {
                s_fail(r);
                goto fail;
            }
            break;
        }
        default:
            if (s_skip(r, f.fd->descriptor, f.start, f.end, depth + 1) < 0)
                goto fail;
            break;
        }
    }
    if (rc < 0) {
        s_fail(r);
        goto fail;
    }
    if (is_ranged && s_graph_nodes(r, &g, ranges.data, (uint32_t)ranges.n, depth + 1) < 0)
        goto fail;
    s_vec_free(&ranges);
    S_AT(r->graphs, s_graph_t, gi) = g;
    return 0;
fail:
    s_vec_free(&ranges);
    return -1;
}

static int s_entry(s_rd_t *r, s_entry_t *e, size_t start, size_t end)
{
    const s_msg_t *m = &r->msgs[S_ENTRY];
    size_t pos = start;
    s_field_t f;
    int rc;
    e->key.off = e->value.off = S_ABSENT;
    while ((rc = s_next(r, m->desc, m, &pos, end, &f)) > 0) {
        if (f.fd && f.number == 1)
            e->key = s_string(r, &f);
        else if (f.fd && f.number == 2)
            e->value = s_string(r, &f);
    }
    return rc < 0 ? s_fail(r) : 0;
}

static int s_opset(s_rd_t *r, s_opset_t *o, size_t start, size_t end)
{
    const s_msg_t *m = &r->msgs[S_OPSET];
    size_t pos = start;
    s_field_t f;
    int rc;
    o->domain.off = S_ABSENT;
    while ((rc = s_next(r, m->desc, m, &pos, end, &f)) > 0) {
        if (f.fd && f.number == 1) {
            o->domain = s_string(r, &f);
        } else if (f.fd && f.number == 2) {
            o->has_version = true;
            o->version = (int64_t)f.value;
        }
    }
    return rc < 0 ? s_fail(r) : 0;
}

static int s_function(s_rd_t *r, s_func_t *fn, size_t start, size_t end, int depth)
{
    const s_msg_t *m = &r->msgs[S_FUNC];
    size_t pos = start;
    s_field_t f;
    int rc;
    fn->name.off = fn->domain.off = S_ABSENT;
    while ((rc = s_next(r, m->desc, m, &pos, end, &f)) > 0) {
        if (!f.fd)
            continue;
        switch (f.number) {
        case 1: fn->name = s_string(r, &f); break;
        case 10: fn->domain = s_string(r, &f); break;
        case 4:
        case 5: {
            s_sl_t *s = f.number == 4 ? s_list_push(r, &r->fn_inputs, &fn->in_first, &fn->n_in)
                                      : s_list_push(r, &r->fn_outputs, &fn->out_first, &fn->n_out);
            if (!s)
                return -1;
            *s = s_string(r, &f);
            break;
        }
        case 7: {
            if (s_enter(r, &f, depth, NULL) < 0)
                return -1;
            s_node_t *n = s_list_push(r, &r->nodes, &fn->node_first, &fn->n_node);
            if (!n || s_node(r, n, f.start, f.end, depth + 1) < 0)
                return -1;
            fn->n_strs += (uint64_t)n->n_in + n->n_out;
            fn->n_outs += n->n_out;
            break;
        }
        case 9: {
            if (s_enter(r, &f, depth, NULL) < 0)
                return -1;
            s_opset_t *o = s_list_push(r, &r->opsets, &fn->opset_first, &fn->n_opset);
            if (!o || s_opset(r, o, f.start, f.end) < 0)
                return -1;
            break;
        }
        default:
            if (f.fd->type == PROTOBUF_C_TYPE_MESSAGE &&
                (s_enter(r, &f, depth, NULL) < 0 || s_skip(r, f.fd->descriptor, f.start, f.end, depth + 1) < 0))
                return -1;
            break;
        }
    }
    return rc < 0 ? s_fail(r) : 0;
}

static int s_model(s_rd_t *r)
{
    const s_msg_t *m = &r->msgs[S_MODEL];
    size_t pos = 0;
    s_field_t f;
    uint64_t seen = 0;
    int rc;
    r->producer_name.off = r->producer_version.off = r->domain.off = S_ABSENT;
    while ((rc = s_next(r, m->desc, m, &pos, r->len, &f)) > 0) {
        if (!f.fd)
            continue;
        switch (f.number) {
        case 1: r->has_ir_version = true; r->ir_version = (int64_t)f.value; break;
        case 2: r->producer_name = s_string(r, &f); break;
        case 3: r->producer_version = s_string(r, &f); break;
        case 4: r->domain = s_string(r, &f); break;
        case 5: r->has_model_version = true; r->model_version = (int64_t)f.value; break;
        case 7:
            if (s_enter(r, &f, 0, &seen) < 0)
                return -1;
            r->has_graph = true;
            if (s_defer(r, &f, 1, false, S_NONE) < 0)
                return -1;
            break;
        case 8: {
            if (s_enter(r, &f, 0, NULL) < 0)
                return -1;
            s_opset_t *o = s_list_push(r, &r->opsets, &r->opset_first, &r->n_opset);
            if (!o || s_opset(r, o, f.start, f.end) < 0)
                return -1;
            break;
        }
        case 14: {
            if (s_enter(r, &f, 0, NULL) < 0)
                return -1;
            s_entry_t *e = s_list_push(r, &r->entries, &r->meta_first, &r->n_meta);
            if (!e || s_entry(r, e, f.start, f.end) < 0)
                return -1;
            break;
        }
        case 25: {
            if (s_enter(r, &f, 0, NULL) < 0)
                return -1;
            s_func_t *fn = s_list_push(r, &r->funcs, &r->func_first, &r->n_func);
            if (!fn || s_function(r, fn, f.start, f.end, 1) < 0)
                return -1;
            break;
        }
        default:
            if (f.fd->type == PROTOBUF_C_TYPE_MESSAGE &&
                (s_enter(r, &f, 0, &seen) < 0 || s_skip(r, f.fd->descriptor, f.start, f.end, 1) < 0))
                return -1;
            break;
        }
    }
    if (rc < 0)
        return s_fail(r);
    /* deferred graphs, main graph first; a graph's own subgraphs join the queue */
    for (size_t k = 0; k < r->jobs.n; k++) {
        s_job_t j = S_AT(r->jobs, s_job_t, k);
        uint32_t gi = (uint32_t)r->graphs.n;
        if (!s_push(&r->graphs))
            return s_fail(r);
        if (j.index == S_NONE)
            r->main_graph = gi;
        else if (j.is_attr_g)
            S_AT(r->attrs, s_attr_t, j.index).g = gi;
        else
            S_AT(r->graph_refs, uint32_t, j.index) = gi;
        if (s_graph(r, gi, j.start, j.end, j.depth, j.index == S_NONE) < 0)
            return -1;
    }
    return 0;
}

static void s_rd_free(s_rd_t *r)
{
    s_vec_t *vecs[] = {&r->graphs, &r->nodes, &r->attrs, &r->vis, &r->dims, &r->inits, &r->attr_tensors,
                       &r->sparses, &r->opsets, &r->funcs, &r->entries, &r->fn_inputs,
                       &r->fn_outputs, &r->graph_refs, &r->jobs, &r->ops};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(vecs); i++)
        s_vec_free(vecs[i]);
    s_pairs_free(&r->op_ids);
    free(r->main_ops);
}

static void s_rd_init(s_rd_t *r, const uint8_t *data, size_t len)
{
    memset(r, 0, sizeof *r);
    r->data = data;
    r->len = len;
    r->main_graph = S_NONE;
    static const ProtobufCMessageDescriptor *const descs[S_N_MSG] = {
        [S_MODEL] = &onnx__model_proto__descriptor,
        [S_GRAPH] = &onnx__graph_proto__descriptor,
        [S_NODE] = &onnx__node_proto__descriptor,
        [S_ATTR] = &onnx__attribute_proto__descriptor,
        [S_TENSOR] = &onnx__tensor_proto__descriptor,
        [S_VI] = &onnx__value_info_proto__descriptor,
        [S_TYPE] = &onnx__type_proto__descriptor,
        [S_TYPE_TENSOR] = &onnx__type_proto__tensor__descriptor,
        [S_SHAPE] = &onnx__tensor_shape_proto__descriptor,
        [S_DIM] = &onnx__tensor_shape_proto__dimension__descriptor,
        [S_OPSET] = &onnx__operator_set_id_proto__descriptor,
        [S_ENTRY] = &onnx__string_string_entry_proto__descriptor,
        [S_FUNC] = &onnx__function_proto__descriptor,
        [S_SPARSE] = &onnx__sparse_tensor_proto__descriptor,
    };
    for (int i = 0; i < S_N_MSG; i++)
        s_msg_init(&r->msgs[i], descs[i]);
    s_vec_t *vecs[] = {&r->graphs, &r->nodes, &r->attrs, &r->vis, &r->dims, &r->inits, &r->attr_tensors,
                       &r->sparses, &r->opsets, &r->funcs, &r->entries, &r->fn_inputs,
                       &r->fn_outputs, &r->graph_refs, &r->jobs, &r->ops};
    size_t sizes[] = {sizeof(s_graph_t), sizeof(s_node_t), sizeof(s_attr_t), sizeof(s_vi_t), sizeof(s_dim_t),
                      sizeof(s_tensor_t), sizeof(s_tensor_t), sizeof(s_sparse_t), sizeof(s_opset_t),
                      sizeof(s_func_t), sizeof(s_entry_t), sizeof(s_sl_t), sizeof(s_sl_t), sizeof(uint32_t),
                      sizeof(s_job_t), sizeof(s_op_t)};
    /* the loader's decode budget, for the records: a model of nothing but empty messages
     * makes 32 or more bytes of records out of every 2 bytes */
    r->budget = FERRY_ONNX_DECODE_SLACK + FERRY_ONNX_DECODE_FACTOR * len;
    for (size_t i = 0; i < FERRY_ARRAY_LEN(vecs); i++) {
        vecs[i]->size = sizes[i];
        vecs[i]->budget = &r->budget;
    }
}

/* ---- checker (onnx_check.c over the records) --------------------------------------------- */

typedef struct s_scope {
    s_names_t names;
    const struct s_scope *parent;
} s_scope_t;

typedef struct {
    const s_rd_t *r;
    ferry_onnx_problems_t *out;
    ferry_onnx_map_t opsets;  /* canonical domain -> version, keys in opset_keys */
    char **opset_keys;
    size_t n_opset_keys;
    ferry_onnx_map_t functions; /* "domain\x1fname" -> 1; keys owned (in fn_keys) */
    char **fn_keys;
    size_t n_fn_keys;
    /* operator lookups, cached per (domain, op_type) while one opset import is in force */
    struct s_op_info {
        bool is_computed, has_version, is_function, is_known;
        long version;
        const ferry_onnx_op_def_t *def, *any;
        /* a node of the operator with plain_in inputs, plain_out outputs and no attribute was
         * checked without a problem: the next such node has none either (nothing else of it
         * is looked at), so its local checks are skipped */
        bool is_plain_known;
        uint32_t plain_in, plain_out;
    } *cached; /* per index of s_rd_t.ops (each thread of a parallel check has a copy) */
} s_check_t;

static char *s_dup(const s_rd_t *r, s_sl_t s)
{
    return ferry_strndup(s_ptr(r, s), s.len);
}

/* Record a problem already counted in c->out->total, if there is room for it. */
static void s_problem_vpush(s_check_t *c, const char *graph, long index, const s_node_t *node, const char *fmt,
                            va_list ap)
{
    if (c->out->count >= FERRY_ONNX_MAX_PROBLEMS)
        return;
    char msg[1024];
    vsnprintf(msg, sizeof msg, fmt, ap);
    c->out->items = ferry_reallocarray(c->out->items, c->out->count + 1, sizeof *c->out->items);
    c->out->items[c->out->count++] = (ferry_onnx_problem_t){
        .graph = ferry_strdup(graph),
        .node_index = index,
        .node_name = node ? s_dup(c->r, s_node_name(c->r, node)) : ferry_strdup(""),
        .op_type = node ? s_dup(c->r, S_AT(c->r->ops, s_op_t, node->op).op) : ferry_strdup(""),
        .message = ferry_strdup(msg),
    };
}

static void s_problem_push(s_check_t *c, const char *graph, long index, const s_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void s_problem_push(s_check_t *c, const char *graph, long index, const s_node_t *node, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    s_problem_vpush(c, graph, index, node, fmt, ap);
    va_end(ap);
}

static void s_problem(s_check_t *c, const char *graph, long index, const s_node_t *node, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Count a problem, and record it while fewer than FERRY_ONNX_MAX_PROBLEMS are. */
static void s_problem(s_check_t *c, const char *graph, long index, const s_node_t *node, const char *fmt, ...)
{
    c->out->total++;
    va_list ap;
    va_start(ap, fmt);
    s_problem_vpush(c, graph, index, node, fmt, ap);
    va_end(ap);
}

/* The definition/use problems, worded once for the serial and the parallel check. */
#define S_MSG_BEFORE "input '%.*s' is used before node %ld produces it (nodes are not topologically sorted)"
#define S_MSG_UNDEFINED "input '%.*s' is not defined (no graph input, initializer or node output of that name)"
#define S_MSG_TWICE "output '%.*s' is already defined (every name is assigned exactly once)"

/* "%.*s" arguments of a slice */
#define S_FMT(r, s) (int)(s).len, s_ptr((r), (s))

static void s_check_tensor(s_check_t *c, const char *graph, long index, const s_node_t *node, const s_tensor_t *t,
                           const char *what)
{
    const s_rd_t *r = c->r;
    if (t->dims_bad) {
        s_problem(c, graph, index, node, "%s '%.*s': dims are negative or their product overflows", what,
                  S_FMT(r, t->name));
        return;
    }
    uint64_t numel = t->numel;
    int32_t dt = t->has_data_type ? t->data_type : 0;
    size_t esize = ferry_onnx_elem_size(dt);
    if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED || (esize == 0 && dt != ONNX__TENSOR_PROTO__DATA_TYPE__STRING)) {
        s_problem(c, graph, index, node, "%s '%.*s': data_type %d is not a valid tensor element type", what,
                  S_FMT(r, t->name), dt);
        return;
    }
    if (t->has_segment)
        return;
    if (t->has_raw) { /* external data never reaches this reader */
        if (dt == ONNX__TENSOR_PROTO__DATA_TYPE__STRING) {
            s_problem(c, graph, index, node, "%s '%.*s': string tensors cannot use raw_data or external data", what,
                      S_FMT(r, t->name));
            return;
        }
        size_t len = t->raw_len;
        if ((uint64_t)len / esize != numel || len % esize)
            s_problem(c, graph, index, node,
                      "%s '%.*s': %s data holds %zu bytes, but dims give %llu elements of %s (%llu bytes)", what,
                      S_FMT(r, t->name), "raw", len, (unsigned long long)numel, ferry_onnx_type_name(dt),
                      (unsigned long long)(numel * esize));
        return;
    }
    size_t have;
    const char *field;
    uint64_t want = numel;
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: have = t->n_float; field = "float_data"; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64: have = t->n_float; field = "float_data"; want *= 2; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE: have = t->n_double; field = "double_data"; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128: have = t->n_double; field = "double_data"; want *= 2; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: have = t->n_int64; field = "int64_data"; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: have = t->n_uint64; field = "uint64_data"; break;
    case ONNX__TENSOR_PROTO__DATA_TYPE__STRING: have = t->n_string; field = "string_data"; break;
    default: have = t->n_int32; field = "int32_data"; break;
    }
    if (have != want)
        s_problem(c, graph, index, node, "%s '%.*s': %s holds %zu values, but dims give %llu elements of %s", what,
                  S_FMT(r, t->name), field, have, (unsigned long long)want, ferry_onnx_type_name(dt));
}

static bool s_defined(const s_rd_t *r, const s_scope_t *s, s_sl_t name, uint32_t h)
{
    const uint8_t *key = (const uint8_t *)s_ptr(r, name);
    for (; s; s = s->parent) {
        const s_slot_t *slot = s_names_find(&s->names, r->data, key, name.len, h);
        if (slot && slot->value == S_DEFINED)
            return true;
    }
    return false;
}

static void s_check_nodes(s_check_t *c, const char *graph, uint32_t first, uint32_t n_nodes, uint64_t n_strs,
                          uint64_t n_outs, s_scope_t *scope, int depth, const s_sl_t *queries, size_t n_queries,
                          bool *query_defined);
static bool s_par_wanted(const s_check_t *c, uint32_t n_nodes, uint64_t n_strs);

static void s_check_graph(s_check_t *c, const char *graph, uint32_t gi, const s_scope_t *parent, bool is_main,
                          int depth)
{
    const s_rd_t *r = c->r;
    const s_graph_t *g = &S_AT(r->graphs, s_graph_t, gi);
    s_scope_t scope = {.parent = parent};
    bool is_par = s_par_wanted(c, g->n_node, g->n_strs);
    s_names_grow(&scope.names, (size_t)g->n_input + g->n_init + g->n_sparse + (is_par ? 0 : g->n_node));
    for (uint32_t i = 0; i < g->n_input; i++) {
        const s_vi_t *vi = &S_AT(r->vis, s_vi_t, g->input_first + i);
        if (!vi->name.len) {
            s_problem(c, graph, -1, NULL, "graph input %zu has no name", (size_t)i);
        } else {
            s_slot_t *slot = s_names_add(&scope.names, r->data, vi->name, s_hash_sl(r, vi->name));
            if (slot->value == S_DEFINED)
                s_problem(c, graph, -1, NULL, "graph input '%.*s' is declared more than once", S_FMT(r, vi->name));
            slot->value = S_DEFINED;
        }
        if (is_main && !vi->has_type)
            s_problem(c, graph, -1, NULL, "graph input '%.*s' has no type", S_FMT(r, vi->name));
    }
    s_names_t inits = {0};
    for (uint32_t i = 0; i < g->n_init; i++) {
        const s_tensor_t *t = &S_AT(r->inits, s_tensor_t, g->init_first + i);
        if (!t->name.len) {
            s_problem(c, graph, -1, NULL, "initializer %zu has no name", (size_t)i);
        } else {
            uint32_t h = s_hash_sl(r, t->name);
            s_slot_t *slot = s_names_add(&inits, r->data, t->name, h);
            if (slot->value == S_DEFINED)
                s_problem(c, graph, -1, NULL, "initializer '%.*s' is defined more than once", S_FMT(r, t->name));
            else
                s_names_add(&scope.names, r->data, t->name, h)->value = S_DEFINED;
            slot->value = S_DEFINED;
        }
        s_check_tensor(c, graph, -1, NULL, t, "initializer");
    }
    for (uint32_t i = 0; i < g->n_sparse; i++) {
        const s_sparse_t *sp = &S_AT(r->sparses, s_sparse_t, g->sparse_first + i);
        if (!sp->has_values) {
            s_problem(c, graph, -1, NULL, "sparse initializer %zu has no values tensor", (size_t)i);
            continue;
        }
        s_slot_t *slot = sp->name.len ? s_names_add(&scope.names, r->data, sp->name, s_hash_sl(r, sp->name)) : NULL;
        if (!slot || slot->value == S_DEFINED)
            s_problem(c, graph, -1, NULL, "sparse initializer '%.*s' has no name or is defined more than once",
                      S_FMT(r, sp->name));
        else
            slot->value = S_DEFINED;
    }
    s_names_free(&inits);
    s_sl_t *outs = ferry_reallocarray(NULL, (size_t)g->n_output + 1, sizeof *outs);
    bool *out_defined = ferry_calloc((size_t)g->n_output + 1, sizeof *out_defined);
    for (uint32_t i = 0; i < g->n_output; i++)
        outs[i] = S_AT(r->vis, s_vi_t, g->output_first + i).name;
    s_check_nodes(c, graph, g->node_first, g->n_node, g->n_strs, g->n_outs, &scope, depth, outs, g->n_output,
                  out_defined);
    for (uint32_t i = 0; i < g->n_output; i++) {
        const s_vi_t *vi = &S_AT(r->vis, s_vi_t, g->output_first + i);
        if (!vi->name.len)
            s_problem(c, graph, -1, NULL, "graph output %zu has no name", (size_t)i);
        else if (!out_defined[i] && !s_defined(r, &scope, vi->name, s_hash_sl(r, vi->name)))
            s_problem(c, graph, -1, NULL, "graph output '%.*s' is not produced by any node, input or initializer",
                      S_FMT(r, vi->name));
        if (is_main && !vi->has_type)
            s_problem(c, graph, -1, NULL, "graph output '%.*s' has no type", S_FMT(r, vi->name));
    }
    free(outs);
    free(out_defined);
    s_names_free(&scope.names);
}

static bool s_attr_has_value(const s_attr_t *a)
{
    switch (a->type) {
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR: return a->has_t;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH: return a->has_g;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR: return a->has_sparse;
    case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO: return a->has_tp;
    default: return true;
    }
}


/* "domain\x1fname" as onnx_check.c builds its keys, in buf (cap bytes) or on the heap. */
static char *s_pair_key(const s_rd_t *r, s_sl_t domain, s_sl_t name, char *buf, size_t cap)
{
    size_t n = (size_t)domain.len + 1 + name.len + 1;
    char *key = n <= cap ? buf : ferry_malloc(n);
    memcpy(key, s_ptr(r, domain), domain.len);
    key[domain.len] = '\x1f';
    memcpy(key + domain.len + 1, s_ptr(r, name), name.len);
    key[n - 1] = '\0';
    return key;
}

static void s_op_cache_clear(s_check_t *c)
{
    free(c->cached);
    c->cached = ferry_calloc(c->r->ops.n + 1, sizeof *c->cached);
}

/* What onnx_check.c's s_check_node looks up for (domain, op): the imported version, whether a
 * model-local function has that name, the schema in force and any schema of that name. */
static const struct s_op_info *s_op_info(s_check_t *c, uint32_t op_index)
{
    const s_rd_t *r = c->r;
    struct s_op_info *info = &c->cached[op_index];
    if (info->is_computed)
        return info;
    s_sl_t domain = S_AT(r->ops, s_op_t, op_index).domain, op = S_AT(r->ops, s_op_t, op_index).op;
    char buf[256];
    char *key = s_pair_key(r, domain, op, buf, sizeof buf); /* onnx_check.c's function key */
    char *dom = ferry_strndup(key, domain.len), *name = key + domain.len + 1;
    long *ver = ferry_onnx_map_get(&c->opsets, dom);
    info->is_computed = true;
    info->has_version = ver != NULL;
    info->version = ver ? *ver : 0;
    info->is_function = c->functions.count && ferry_onnx_map_get(&c->functions, key);
    info->is_known = ferry_onnx_domain_known(dom);
    if (ver && !info->is_function && info->is_known) {
        info->def = ferry_onnx_op_find(dom, name, *ver);
        if (!info->def)
            info->any = ferry_onnx_op_any(dom, name);
    }
    free(dom);
    if (key != buf)
        free(key);
    return info;
}

/* Is the attribute name of attrs[first + k] given before, among the node's attributes? */
static bool s_attr_name_seen(const s_rd_t *r, uint32_t first, uint32_t k, s_names_t *seen, uint32_t n_attr)
{
    s_sl_t name = S_AT(r->attrs, s_attr_t, first + k).name;
    if (n_attr <= S_SMALL_ATTRS) {
        for (uint32_t i = 0; i < k; i++) {
            const s_attr_t *b = &S_AT(r->attrs, s_attr_t, first + i);
            if (b->name.len && s_sl_eq(r, b->name, name))
                return true;
        }
        return false;
    }
    s_slot_t *slot = s_names_add(seen, r->data, name, s_hash_sl(r, name));
    bool was = slot->value == S_DEFINED;
    slot->value = S_DEFINED;
    return was;
}

/* Does the node give an attribute of this (NUL-terminated) name? */
static bool s_attr_given(const s_rd_t *r, const s_node_t *node, const char *name, s_names_t *seen)
{
    size_t n = strlen(name);
    if (node->n_attr <= S_SMALL_ATTRS) {
        for (uint32_t i = 0; i < node->n_attr; i++) {
            s_sl_t a = S_AT(r->attrs, s_attr_t, node->attr_first + i).name;
            if (a.len && a.len == n && !memcmp(s_ptr(r, a), name, n))
                return true;
        }
        return false;
    }
    const s_slot_t *slot = s_names_find(seen, r->data, (const uint8_t *)name, n, s_hash((const uint8_t *)name, n));
    return slot && slot->value == S_DEFINED;
}

/* The attribute definition of op for a name slice (binary search, like ferry_onnx_op_attr). */
static const ferry_onnx_attr_def_t *s_op_attr(const s_rd_t *r, const ferry_onnx_op_def_t *op, s_sl_t name)
{
    int lo = op->attr_first, hi = op->attr_first + op->attr_count;
    const char *p = s_ptr(r, name);
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        const char *an = ferry_onnx_op_attrs[mid].name;
        size_t al = strlen(an);
        int cmp = memcmp(an, p, al < name.len ? al : name.len);
        if (cmp == 0)
            cmp = al < name.len ? -1 : al > name.len ? 1 : 0;
        if (cmp == 0)
            return &ferry_onnx_op_attrs[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* A node list being checked, and the first producer of each of its names: needed only to
 * explain an undefined input, so built on the first one (a valid model never pays). */
typedef struct {
    uint32_t first, n;
    bool is_built;
    s_names_t producers;
} s_nodes_t;

static const s_slot_t *s_producer(s_check_t *c, s_nodes_t *prod, s_sl_t name, uint32_t h)
{
    const s_rd_t *r = c->r;
    if (!prod->is_built) {
        prod->is_built = true;
        for (uint32_t i = 0; i < prod->n; i++) {
            const s_node_t *node = &S_AT(r->nodes, s_node_t, prod->first + i);
            s_strs_t it = s_node_strs(node, 2);
            s_sl_t o;
            while (s_strs_next(r, &it, &o)) {
                if (!o.len)
                    continue;
                s_slot_t *slot = s_names_add(&prod->producers, r->data, o, s_hash_sl(r, o));
                if (slot->value == S_PRESENT) /* new: the first producer */
                    slot->value = S_PRODUCER + i;
            }
        }
    }
    return s_names_find(&prod->producers, r->data, (const uint8_t *)s_ptr(r, name), name.len, h);
}

/* The checks of one node that read nothing but the node and the operator cache (operator,
 * arity, attributes): safe on several threads once every operator of the nodes is in the
 * cache and each thread has its own copy of it (the clean-node memo is written). Returns false
 * when the node has no op_type (nothing else of it is checked). */
static bool s_check_node_local(s_check_t *c, const char *graph, long index, const s_node_t *node)
{
    const struct s_op_info *memo = &c->cached[node->op]; /* see is_plain_known */
    if (!node->n_attr && memo->is_plain_known && memo->plain_in == node->n_in && memo->plain_out == node->n_out) {
        c->out->nodes_checked++;
        return true;
    }
    const s_rd_t *r = c->r;
    s_sl_t domain = S_AT(r->ops, s_op_t, node->op).domain;
    s_sl_t op = S_AT(r->ops, s_op_t, node->op).op;
    const char *dlabel = domain.len ? s_ptr(r, domain) : "ai.onnx";
    int dlabel_len = domain.len ? (int)domain.len : 7;
    c->out->nodes_checked++;
    if (!op.len) {
        s_problem(c, graph, index, node, "node has no op_type");
        return false;
    }
    const struct s_op_info *info = s_op_info(c, node->op);
    size_t total_before = c->out->total;
    const ferry_onnx_op_def_t *def = NULL;
    if (!info->has_version) {
        s_problem(c, graph, index, node, "domain '%.*s' is not imported (no opset_import entry)", dlabel_len, dlabel);
    } else if (info->is_function) {
        /* a model-local function: its body is checked on its own */
    } else if (info->is_known) {
        def = info->def;
        if (!def) {
            if (info->any)
                s_problem(c, graph, index, node, "operator %.*s is not defined at %.*s opset %ld (introduced at opset %d)",
                          S_FMT(r, op), dlabel_len, dlabel, info->version, info->any->since_version);
            else
                s_problem(c, graph, index, node, "unknown operator %.*s in domain %.*s", S_FMT(r, op), dlabel_len,
                          dlabel);
        } else if (def->deprecated) {
            s_problem(c, graph, index, node, "operator %.*s was removed (deprecated) at %.*s opset %d", S_FMT(r, op),
                      dlabel_len, dlabel, def->since_version);
            def = NULL;
        }
    } else {
        c->out->unverified_nodes++;
    }
    if (def) {
        if ((long)node->n_in > def->max_input)
            s_problem(c, graph, index, node, "%zu inputs, %.*s-%d takes at most %d", (size_t)node->n_in, S_FMT(r, op),
                      def->since_version, def->max_input);
        if ((long)node->n_in < def->min_input)
            s_problem(c, graph, index, node, "%zu inputs, %.*s-%d needs at least %d", (size_t)node->n_in,
                      S_FMT(r, op), def->since_version, def->min_input);
        if ((long)node->n_out > def->max_output || (long)node->n_out < def->min_output)
            s_problem(c, graph, index, node, "%zu outputs, %.*s-%d produces %d to %d", (size_t)node->n_out,
                      S_FMT(r, op), def->since_version, def->min_output, def->max_output);
    }
    /* attributes */
    s_names_t seen = {0};
    for (uint32_t i = 0; i < node->n_attr; i++) {
        const s_attr_t *a = &S_AT(r->attrs, s_attr_t, node->attr_first + i);
        if (!a->name.len) {
            s_problem(c, graph, index, node, "attribute %zu has no name", (size_t)i);
            continue;
        }
        if (s_attr_name_seen(r, node->attr_first, i, &seen, node->n_attr))
            s_problem(c, graph, index, node, "attribute '%.*s' is given more than once", S_FMT(r, a->name));
        if (a->ref_attr_name.len)
            continue;
        if (!a->has_type || a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED)
            s_problem(c, graph, index, node, "attribute '%.*s' has no type", S_FMT(r, a->name));
        else if (!s_attr_has_value(a))
            s_problem(c, graph, index, node, "attribute '%.*s' of type %d carries no value", S_FMT(r, a->name),
                      (int)a->type);
        if (def) {
            const ferry_onnx_attr_def_t *ad = s_op_attr(r, def, a->name);
            if (!ad)
                s_problem(c, graph, index, node, "attribute '%.*s' is not declared by %.*s-%d", S_FMT(r, a->name),
                          S_FMT(r, op), def->since_version);
            else if (a->has_type && a->type != ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED && (int)a->type != ad->type)
                s_problem(c, graph, index, node, "attribute '%.*s' has type %d, %.*s-%d declares type %d",
                          S_FMT(r, a->name), (int)a->type, S_FMT(r, op), def->since_version, ad->type);
        }
        if (a->has_t)
            s_check_tensor(c, graph, index, node, &S_AT(r->attr_tensors, s_tensor_t, a->t), "attribute tensor");
        for (uint32_t k = 0; k < a->n_tensors; k++)
            s_check_tensor(c, graph, index, node, &S_AT(r->attr_tensors, s_tensor_t, a->tensors_first + k),
                           "attribute tensor");
    }
    if (def)
        for (int k = def->attr_first; k < def->attr_first + def->attr_count; k++)
            if (ferry_onnx_op_attrs[k].required && !s_attr_given(r, node, ferry_onnx_op_attrs[k].name, &seen))
                s_problem(c, graph, index, node, "required attribute '%s' of %.*s-%d is missing",
                          ferry_onnx_op_attrs[k].name, S_FMT(r, op), def->since_version);
    s_names_free(&seen);
    if (def && !node->n_attr && c->out->total == total_before) {
        struct s_op_info *known = &c->cached[node->op];
        known->is_plain_known = true;
        known->plain_in = node->n_in;
        known->plain_out = node->n_out;
    }
    return true;
}

static void s_check_node(s_check_t *c, const char *graph, long index, const s_node_t *node, s_scope_t *scope,
                         s_nodes_t *prod, int depth)
{
    const s_rd_t *r = c->r;
    s_sl_t op = S_AT(r->ops, s_op_t, node->op).op;
    if (!s_check_node_local(c, graph, index, node))
        return;
    /* inputs must be defined before use; one walk over the node's bytes also collects the
     * outputs, defined after the subgraphs */
    s_sl_t outs_small[S_SMALL_OUTPUTS], *outs = outs_small;
    size_t n_outs = 0, cap_outs = S_SMALL_OUTPUTS;
    s_strs_t io = s_node_strs(node, 0);
    s_sl_t in;
    /* the record counted them: the walk stops after the last (the name and op_type that
     * usually follow are not read again) */
    uint64_t n_left = (uint64_t)node->n_in + node->n_out;
    while (n_left && s_strs_next(r, &io, &in)) {
        n_left--;
        if (io.found == 2) {
            if (n_outs == cap_outs) {
                cap_outs *= 2;
                if (outs == outs_small) {
                    outs = ferry_reallocarray(NULL, cap_outs, sizeof *outs);
                    memcpy(outs, outs_small, sizeof outs_small);
                } else {
                    outs = ferry_reallocarray(outs, cap_outs, sizeof *outs);
                }
            }
            outs[n_outs++] = in;
            continue;
        }
        if (!in.len)
            continue;
        uint32_t h = s_hash_sl(r, in);
        if (s_defined(r, scope, in, h))
            continue;
        const s_slot_t *slot = s_producer(c, prod, in, h);
        if (slot && slot->value - S_PRODUCER > (uint64_t)index)
            s_problem(c, graph, index, node, S_MSG_BEFORE, S_FMT(r, in), (long)(slot->value - S_PRODUCER));
        else
            s_problem(c, graph, index, node, S_MSG_UNDEFINED, S_FMT(r, in));
    }
    /* subgraphs see everything defined so far */
    for (uint32_t i = 0; i < node->n_attr; i++) {
        const s_attr_t *a = &S_AT(r->attrs, s_attr_t, node->attr_first + i);
        char sub[S_GRAPH_PATH];
        if (a->has_g) {
            snprintf(sub, sizeof sub, "%s/node %ld (%.*s)/%.*s", graph, index, S_FMT(r, op), S_FMT(r, a->name));
            s_check_graph(c, sub, a->g, scope, false, depth + 1);
        }
        for (uint32_t k = 0; k < a->n_graphs; k++) {
            snprintf(sub, sizeof sub, "%s/node %ld (%.*s)/%.*s[%zu]", graph, index, S_FMT(r, op), S_FMT(r, a->name),
                     (size_t)k);
            s_check_graph(c, sub, S_AT(r->graph_refs, uint32_t, a->graphs_first + k), scope, false, depth + 1);
        }
    }
    /* outputs are defined exactly once */
    for (size_t i = 0; i < n_outs; i++) {
        s_sl_t outn = outs[i];
        if (!outn.len)
            continue;
        uint32_t h = i == 0 ? node->out0_hash : s_hash_sl(r, outn); /* the parse hashed the first */
        s_slot_t *slot = s_names_add(&scope->names, r->data, outn, h); /* one probe: test and define */
        if (slot->value == S_DEFINED || s_defined(r, scope->parent, outn, h))
            s_problem(c, graph, index, node, S_MSG_TWICE, S_FMT(r, outn));
        else
            slot->value = S_DEFINED;
    }
    if (outs != outs_small)
        free(outs);
}

/* ---- parallel check of a large node list ------------------------------------------------- */

/* A chunk's names are split into 2^S_PART_BITS tables by the top bits of their hash, so that
 * the merge of one partition over all chunks works in a core's L2 cache. */
#define S_PART_BITS 6
#define S_PARTS (1u << S_PART_BITS)
#define S_BLOCK_RECS 128
/* A record's position within its node (< 2^30: every string takes at least 2 of the node's
 * < 2^31 bytes) and, above it, its kind. */
#define S_POS_BITS 30

/* Memory the parallel check may need per input or output (deferred uses; name tables of up to
 * 4 slots per output, rounding included): the records must fit the decode budget left. */
#define S_PAR_BYTES_PER_STR 96

/* Kinds in the serial check's order: a node's own problems, its inputs', its outputs'. */
enum { S_KIND_IN = 1, S_KIND_OUT = 2 };

/* A name a node with an op_type of a chunk (or, merged, of the list) outputs, and the first
 * such node. 16 bytes: the tables of all chunks together are as large as the serial check's. */
typedef struct {
    uint32_t off;
    uint32_t len1; /* length + 1; 0: an empty slot */
    uint32_t hash, first_op;
} s_def_t;

typedef struct {
    s_def_t *slots;
    uint32_t cap, count;
    bool is_heap; /* slots from the heap, else part of the chunk's mapping */
} s_defs_t;

/* An input a chunk could not resolve alone (defined by an earlier chunk, or a problem). */
typedef struct {
    uint32_t off, len, hash, node, pos;
} s_use_t;

typedef struct {
    uint32_t next, n;
    s_use_t uses[S_BLOCK_RECS];
} s_block_t;

/* S_PB_UNRESOLVED: an undefined input, used before its first producer or not produced at all
 * (told apart once every chunk is through, with the serial check's producer table). */
enum { S_PB_UNRESOLVED, S_PB_BEFORE, S_PB_UNDEFINED, S_PB_TWICE };

/* A definition/use problem, worded when it is emitted; (node, pos_kind) is its sort key. */
typedef struct {
    uint32_t node, pos_kind, kind, producer;
    s_sl_t name;
} s_pb_t;

typedef struct {
    s_pb_t *items;
    size_t count, total;
} s_pbs_t;

typedef struct s_par s_par_t;

/* Phase 1: the serial check of a contiguous chunk of nodes, by itself. */
typedef struct {
    s_par_t *par;
    uint32_t lo, hi;
    s_check_t c; /* the caller's, writing to out */
    ferry_onnx_problems_t out;
    s_pbs_t pbs; /* outputs defined twice within the chunk or before the nodes, in key order */
    s_defs_t defs[S_PARTS];
    s_def_t *arena; /* the tables' first slots */
    size_t arena_bytes;
    s_block_t *blocks; /* unresolved uses, a chain per partition */
    size_t n_blocks, cap_blocks;
    uint32_t head[S_PARTS], tail[S_PARTS];
    s_sl_t *outs; /* one node's outputs, kept while its inputs are checked */
    size_t cap_outs;
} s_chunk_t;

/* Phase 2: partitions taken one by one from s_par_t.next_part. */
typedef struct {
    s_par_t *par;
    s_defs_t merged;
    size_t cap_alloc;
    s_pbs_t pbs; /* in no order */
} s_resolver_t;

struct s_par {
    const s_rd_t *r;
    const char *graph;
    uint32_t first, n_nodes;
    uint64_t n_outs;
    const s_scope_t *scope;
    unsigned n_threads;
    s_chunk_t chunks[S_MAX_THREADS];
    s_resolver_t resolvers[S_MAX_THREADS];
    const s_sl_t *queries;
    bool *query_defined;
    uint32_t *query_order, query_start[S_PARTS + 1]; /* queries grouped by partition */
    unsigned next_part;
};


/* Is a node list checked in parallel? Not on one thread (the serial check is a little
 * faster there), not when a node anywhere has a subgraph (the serial check walks it with the
 * scope of the moment), nor when the records could outgrow the decode budget left (a hostile
 * list of 2-byte inputs). */
static bool s_par_wanted(const s_check_t *c, uint32_t n_nodes, uint64_t n_strs)
{
    const s_rd_t *r = c->r;
    return n_nodes && n_nodes >= s_env_count("FERRY_ONNX_PARALLEL_MIN", S_PAR_MIN_NODES) && r->jobs.n <= 1 &&
           n_strs <= r->budget / S_PAR_BYTES_PER_STR && s_par_threads(n_nodes, r->busy_cpus) > 1;
}



static void s_defs_free(s_defs_t *m)
{
    if (m->is_heap)
        free(m->slots);
    memset(m, 0, sizeof *m);
}

/* The entry of name (hash h) in m; added (no producer yet) when missing and is_new is given. */
static s_def_t *s_defs_find(s_defs_t *m, const uint8_t *base, uint32_t off, uint32_t len, uint32_t h, bool *is_new)
{
    if (is_new && 2 * ((size_t)m->count + 1) > m->cap) {
        uint32_t cap = m->cap ? 2 * m->cap : S_INITIAL_SLOTS;
        s_def_t *slots = ferry_calloc(cap, sizeof *slots);
        for (uint32_t k = 0; k < m->cap; k++) {
            if (!m->slots[k].len1)
                continue;
            uint32_t i = m->slots[k].hash & (cap - 1);
            while (slots[i].len1)
                i = (i + 1) & (cap - 1);
            slots[i] = m->slots[k];
        }
        if (m->is_heap)
            free(m->slots);
        m->slots = slots;
        m->cap = cap;
        m->is_heap = true;
    }
    if (!m->cap)
        return NULL;
    uint32_t mask = m->cap - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        s_def_t *d = &m->slots[i];
        if (!d->len1) {
            if (!is_new)
                return NULL;
            *is_new = true;
            *d = (s_def_t){off, len + 1, h, S_NONE};
            m->count++;
            return d;
        }
        if (d->hash == h && d->len1 == len + 1 && s_bytes_eq(base + d->off, base + off, len))
            return d;
    }
}

static void s_pb_add(s_pbs_t *pbs, bool is_capped, uint32_t node, uint32_t pos_kind, unsigned kind,
                     uint32_t producer, s_sl_t name)
{
    pbs->total++;
    if (is_capped && pbs->count >= FERRY_ONNX_MAX_PROBLEMS)
        return;
    if ((pbs->count & (pbs->count - 1)) == 0) /* a power of two (or 0): grow */
        pbs->items = ferry_reallocarray(pbs->items, pbs->count ? 2 * pbs->count : 1, sizeof *pbs->items);
    pbs->items[pbs->count++] = (s_pb_t){node, pos_kind, kind, producer, name};
}

static void s_defer_use(s_chunk_t *ch, s_sl_t name, uint32_t h, uint32_t node, uint32_t pos)
{
    unsigned p = h >> (32 - S_PART_BITS);
    uint32_t b = ch->tail[p];
    if (b == S_NONE || ch->blocks[b].n == S_BLOCK_RECS) {
        if (ch->n_blocks == ch->cap_blocks) {
            ch->cap_blocks = ch->cap_blocks ? 2 * ch->cap_blocks : 16;
            ch->blocks = ferry_reallocarray(ch->blocks, ch->cap_blocks, sizeof *ch->blocks);
        }
        uint32_t fresh = (uint32_t)ch->n_blocks++;
        ch->blocks[fresh].next = S_NONE;
        ch->blocks[fresh].n = 0;
        if (b == S_NONE)
            ch->head[p] = fresh;
        else
            ch->blocks[b].next = fresh;
        ch->tail[p] = b = fresh;
    }
    ch->blocks[b].uses[ch->blocks[b].n++] = (s_use_t){name.off, name.len, h, node, pos};
}

/* Phase 1: the serial check of a chunk with the names it defines itself. An input no earlier
 * node of the chunk defines (nor the scope) waits for phase 2; an output's first occurrence
 * in the chunk is checked against the earlier chunks there. */
static void *s_phase1(void *arg)
{
    s_chunk_t *ch = arg;
    const s_par_t *par = ch->par;
    const s_rd_t *r = par->r;
    const s_node_t *nodes = &S_AT(r->nodes, s_node_t, par->first);
    /* the chunk's share of the outputs (a table that proves too small grows) */
    uint64_t n_out = par->n_outs * (ch->hi - ch->lo) / par->n_nodes;
    /* tables of the expected size (+1/8), so that few of them grow, in one populated mapping
     * (page faults one by one cost as much as the check on a 200,000-node model) */
    uint64_t want = n_out / S_PARTS + n_out / S_PARTS / 8 + 1;
    uint32_t cap = S_INITIAL_SLOTS;
    while (cap < 2 * want && cap < (1u << 26))
        cap *= 2;
    ch->arena_bytes = (size_t)cap * S_PARTS * sizeof(s_def_t);
    ch->arena = s_pages(NULL, 0, ch->arena_bytes);
    for (unsigned p = 0; p < S_PARTS; p++)
        ch->defs[p] = (s_defs_t){ch->arena + (size_t)p * cap, cap, 0, false};
    memset(ch->head, 0xff, sizeof ch->head);
    memset(ch->tail, 0xff, sizeof ch->tail);
    for (uint32_t i = ch->lo; i < ch->hi; i++) {
        const s_node_t *node = &nodes[i];
        /* the slot a node's first output lands in is a cache miss: asked for ahead, as the
         * serial check does */
        if (i + S_PREFETCH_NODES < ch->hi && nodes[i + S_PREFETCH_NODES].n_out) {
            uint32_t h = nodes[i + S_PREFETCH_NODES].out0_hash;
            const s_defs_t *m = &ch->defs[h >> (32 - S_PART_BITS)];
            __builtin_prefetch(&m->slots[h & (m->cap - 1)], 1);
        }
        bool has_op = s_check_node_local(&ch->c, par->graph, (long)i, node);
        if (!has_op) /* its outputs define nothing */
            continue;
        s_strs_t io = s_node_strs(node, 0);
        s_sl_t name;
        uint32_t n_in = 0, n_outs = 0;
        while (s_strs_next(r, &io, &name)) {
            if (io.found == 2) {
                if (n_outs == ch->cap_outs) {
                    ch->cap_outs = ch->cap_outs ? 2 * ch->cap_outs : S_SMALL_OUTPUTS;
                    ch->outs = ferry_reallocarray(ch->outs, ch->cap_outs, sizeof *ch->outs);
                }
                ch->outs[n_outs++] = name;
                continue;
            }
            uint32_t pos = n_in++;
            if (!name.len)
                continue;
            uint32_t h = s_hash_sl(r, name);
            const s_def_t *d = s_defs_find(&ch->defs[h >> (32 - S_PART_BITS)], r->data, name.off, name.len, h, NULL);
            if ((d && d->first_op < i) || s_defined(r, par->scope, name, h))
                continue;
            s_defer_use(ch, name, h, i, pos);
        }
        for (uint32_t k = 0; k < n_outs; k++) {
            s_sl_t o = ch->outs[k];
            if (!o.len)
                continue;
            uint32_t h = s_hash_sl(r, o);
            bool is_new = false;
            s_def_t *d = s_defs_find(&ch->defs[h >> (32 - S_PART_BITS)], r->data, o.off, o.len, h, &is_new);
            if (!is_new || s_defined(r, par->scope, o, h))
                s_pb_add(&ch->pbs, true, i, (uint32_t)S_KIND_OUT << S_POS_BITS | k, S_PB_TWICE, 0, o);
            else
                d->first_op = i;
        }
    }
    free(ch->outs);
    ch->outs = NULL;
    return NULL;
}

/* Phase 2, per partition: the chunks' names merged in chunk order (an output first in its
 * chunk is defined twice when an earlier chunk defines it), then the deferred uses against
 * the whole list: an input of node i is defined iff a node before i with an op_type outputs
 * it; if not, it is used before its first producer, or not defined at all. */
static void *s_phase2(void *arg)
{
    s_resolver_t *rs = arg;
    s_par_t *par = rs->par;
    const s_rd_t *r = par->r;
    unsigned p;
    while ((p = __atomic_fetch_add(&par->next_part, 1, __ATOMIC_RELAXED)) < S_PARTS) {
        s_defs_t *all = &par->chunks[0].defs[p];
        if (par->n_threads > 1) {
            size_t n = 0;
            for (unsigned t = 0; t < par->n_threads; t++)
                n += par->chunks[t].defs[p].count;
            uint32_t cap = S_INITIAL_SLOTS;
            while (cap < 2 * n)
                cap *= 2;
            if (cap > rs->cap_alloc) {
                free(rs->merged.slots);
                rs->merged.slots = ferry_reallocarray(NULL, cap, sizeof *rs->merged.slots);
                rs->cap_alloc = cap;
            }
            rs->merged.cap = cap; /* at least twice the names: never grows */
            rs->merged.count = 0;
            rs->merged.is_heap = true;
            memset(rs->merged.slots, 0, cap * sizeof *rs->merged.slots);
            all = &rs->merged;
            for (unsigned t = 0; t < par->n_threads; t++) {
                const s_defs_t *m = &par->chunks[t].defs[p];
                for (uint32_t k = 0; k < m->cap; k++) {
                    const s_def_t *e = &m->slots[k];
                    if (!e->len1 || e->first_op == S_NONE) /* S_NONE: the scope defines it */
                        continue;
                    bool is_new = false;
                    s_def_t *d = s_defs_find(all, r->data, e->off, e->len1 - 1, e->hash, &is_new);
                    if (is_new)
                        d->first_op = e->first_op;
                    else /* position found when worded */
                        s_pb_add(&rs->pbs, false, e->first_op, (uint32_t)S_KIND_OUT << S_POS_BITS, S_PB_TWICE, 0,
                                 (s_sl_t){e->off, e->len1 - 1});
                }
            }
        }
        for (unsigned t = 0; t < par->n_threads; t++) {
            const s_chunk_t *ch = &par->chunks[t];
            for (uint32_t b = ch->head[p]; b != S_NONE; b = ch->blocks[b].next) {
                for (uint32_t k = 0; k < ch->blocks[b].n; k++) {
                    const s_use_t *u = &ch->blocks[b].uses[k];
                    const s_def_t *d = s_defs_find(all, r->data, u->off, u->len, u->hash, NULL);
                    if (d && d->first_op < u->node)
                        continue;
                    s_pb_add(&rs->pbs, false, u->node, (uint32_t)S_KIND_IN << S_POS_BITS | u->pos, S_PB_UNRESOLVED, 0,
                             (s_sl_t){u->off, u->len});
                }
            }
        }
        for (uint32_t k = par->query_start[p]; k < par->query_start[p + 1]; k++) {
            uint32_t q = par->query_order[k];
            s_sl_t name = par->queries[q];
            const s_def_t *d = s_defs_find(all, r->data, name.off, name.len, s_hash_sl(r, name), NULL);
            par->query_defined[q] = d && d->first_op != S_NONE;
        }
    }
    return NULL;
}

static int s_cmp_pb(const void *a, const void *b)
{
    const s_pb_t *x = a, *y = b;
    if (x->node != y->node)
        return x->node < y->node ? -1 : 1;
    return x->pos_kind < y->pos_kind ? -1 : x->pos_kind > y->pos_kind;
}

static void s_pb_emit(s_check_t *c, const s_par_t *par, const s_pb_t *pb)
{
    const s_rd_t *r = c->r;
    const s_node_t *node = &S_AT(r->nodes, s_node_t, par->first + pb->node);
    long index = (long)pb->node;
    switch (pb->kind) {
    case S_PB_BEFORE:
        s_problem_push(c, par->graph, index, node, S_MSG_BEFORE, S_FMT(r, pb->name), (long)pb->producer);
        break;
    case S_PB_UNDEFINED: s_problem_push(c, par->graph, index, node, S_MSG_UNDEFINED, S_FMT(r, pb->name)); break;
    default: s_problem_push(c, par->graph, index, node, S_MSG_TWICE, S_FMT(r, pb->name)); break;
    }
}

/* The problems in the serial check's order: by node, a node's own problems first, then its
 * inputs' and its outputs' by position. The chunks keep the first FERRY_ONNX_MAX_PROBLEMS of
 * theirs, so the first ones overall are among those kept. */
static void s_par_merge(s_check_t *c, s_par_t *par)
{
    ferry_onnx_problems_t *out = c->out;
    size_t n_pb = 0;
    for (unsigned t = 0; t < par->n_threads; t++) {
        const s_chunk_t *ch = &par->chunks[t];
        out->total += ch->out.total + ch->pbs.total + par->resolvers[t].pbs.total;
        out->nodes_checked += ch->out.nodes_checked;
        out->unverified_nodes += ch->out.unverified_nodes;
        n_pb += ch->pbs.count + par->resolvers[t].pbs.count;
    }
    s_pb_t *pbs = ferry_reallocarray(NULL, n_pb + 1, sizeof *pbs);
    n_pb = 0;
    for (unsigned t = 0; t < par->n_threads; t++) {
        const s_pbs_t *lists[] = {&par->chunks[t].pbs, &par->resolvers[t].pbs};
        for (unsigned k = 0; k < 2; k++) {
            if (lists[k]->count)
                memcpy(pbs + n_pb, lists[k]->items, lists[k]->count * sizeof *pbs);
            n_pb += lists[k]->count;
        }
    }
    /* what phase 2 left open: an undefined input's first producer (the serial check's table,
     * built on the first one: a valid model never pays), the position of an output first in
     * its chunk but defined by an earlier one */
    const s_rd_t *r = c->r;
    s_nodes_t prod = {.first = par->first, .n = par->n_nodes};
    for (size_t i = 0; i < n_pb; i++) {
        s_pb_t *pb = &pbs[i];
        if (pb->kind == S_PB_UNRESOLVED) {
            const s_slot_t *slot = s_producer(c, &prod, pb->name, s_hash_sl(r, pb->name));
            if (slot && slot->value - S_PRODUCER > (uint64_t)pb->node) {
                pb->kind = S_PB_BEFORE;
                pb->producer = slot->value - S_PRODUCER;
            } else {
                pb->kind = S_PB_UNDEFINED;
            }
        } else if (pb->kind == S_PB_TWICE && pb->pos_kind == (uint32_t)S_KIND_OUT << S_POS_BITS) {
            s_strs_t it = s_node_strs(&S_AT(r->nodes, s_node_t, par->first + pb->node), 2);
            s_sl_t o;
            for (uint32_t k = 0; s_strs_next(r, &it, &o); k++) {
                if (s_sl_eq(r, o, pb->name)) {
                    pb->pos_kind |= k;
                    break;
                }
            }
        }
    }
    s_names_free(&prod.producers);
    qsort(pbs, n_pb, sizeof *pbs, s_cmp_pb);
    unsigned t = 0;
    size_t k = 0, j = 0;
    while (out->count < FERRY_ONNX_MAX_PROBLEMS) {
        while (t < par->n_threads && k == par->chunks[t].out.count) {
            t++;
            k = 0;
        }
        bool has_local = t < par->n_threads, has_pb = j < n_pb;
        if (!has_local && !has_pb)
            break;
        if (has_local && (!has_pb || par->chunks[t].out.items[k].node_index <= (long)pbs[j].node)) {
            out->items = ferry_reallocarray(out->items, out->count + 1, sizeof *out->items);
            out->items[out->count++] = par->chunks[t].out.items[k];
            memset(&par->chunks[t].out.items[k], 0, sizeof par->chunks[t].out.items[k]);
            k++;
        } else {
            s_pb_emit(c, par, &pbs[j++]);
        }
    }
    free(pbs);
}

/* The serial check of nodes [first, first + n_nodes) on several threads, with the same
 * problems in the same order; scope (the names defined before the nodes) is left as it is,
 * and query_defined[q] says whether a node with an op_type outputs queries[q]. */
static void s_check_nodes_par(s_check_t *c, const char *graph, uint32_t first, uint32_t n_nodes, uint64_t n_outs,
                              const s_scope_t *scope, const s_sl_t *queries, size_t n_queries, bool *query_defined)
{
    const s_rd_t *r = c->r;
    /* the operator cache, filled here and copied to each thread (which then writes only the
     * clean-node memo of its copy) */
    if (r->ops.n <= n_nodes) {
        for (uint32_t k = 0; k < r->ops.n; k++)
            if (S_AT(r->ops, s_op_t, k).op.len)
                (void)s_op_info(c, k);
    } else {
        for (uint32_t i = 0; i < n_nodes; i++) {
            uint32_t op = S_AT(r->nodes, s_node_t, first + i).op;
            if (S_AT(r->ops, s_op_t, op).op.len)
                (void)s_op_info(c, op);
        }
    }
    s_par_t *par = ferry_calloc(1, sizeof *par);
    *par = (s_par_t){.r = r, .graph = graph, .first = first, .n_nodes = n_nodes, .n_outs = n_outs, .scope = scope,
                     .n_threads = s_par_threads(n_nodes, r->busy_cpus),
                     .queries = queries, .query_defined = query_defined};
    for (unsigned t = 0; t < par->n_threads; t++) {
        s_chunk_t *ch = &par->chunks[t];
        ch->par = par;
        ch->lo = (uint32_t)((uint64_t)n_nodes * t / par->n_threads);
        ch->hi = (uint32_t)((uint64_t)n_nodes * (t + 1) / par->n_threads);
        ch->c = *c;
        /* a copy of the (filled) operator cache: the clean-node memo is written per thread */
        ch->c.cached = ferry_reallocarray(NULL, r->ops.n + 1, sizeof *ch->c.cached);
        memcpy(ch->c.cached, c->cached, (r->ops.n + 1) * sizeof *c->cached);
        ch->c.out = &ch->out;
        par->resolvers[t].par = par;
    }
    s_par_run(par->n_threads, s_phase1, par->chunks, sizeof par->chunks[0]);
    /* the queries by partition (a counting sort) */
    par->query_order = ferry_reallocarray(NULL, n_queries + 1, sizeof *par->query_order);
    uint32_t *parts = ferry_reallocarray(NULL, n_queries + 1, sizeof *parts);
    for (size_t q = 0; q < n_queries; q++) {
        parts[q] = s_hash_sl(r, queries[q]) >> (32 - S_PART_BITS);
        par->query_start[parts[q] + 1]++;
    }
    for (unsigned p = 0; p < S_PARTS; p++)
        par->query_start[p + 1] += par->query_start[p];
    uint32_t fill[S_PARTS];
    memcpy(fill, par->query_start, sizeof fill);
    for (size_t q = 0; q < n_queries; q++)
        par->query_order[fill[parts[q]]++] = (uint32_t)q;
    free(parts);
    s_par_run(par->n_threads, s_phase2, par->resolvers, sizeof par->resolvers[0]);
    s_par_merge(c, par);
    for (unsigned t = 0; t < par->n_threads; t++) {
        s_chunk_t *ch = &par->chunks[t];
        free(ch->c.cached);
        ferry_onnx_problems_free(&ch->out);
        free(ch->pbs.items);
        for (unsigned p = 0; p < S_PARTS; p++)
            s_defs_free(&ch->defs[p]);
        free(ch->blocks);
        s_defs_free(&par->resolvers[t].merged);
        free(par->resolvers[t].pbs.items);
    }
    free(par->query_order);
    free(par);
}

/* Check nodes [first, first + n_nodes) of a graph or function, n_strs their inputs and outputs
 * together, in scope. Serially, every output with an op_type ends up in scope; in parallel,
 * scope is left as it is and query_defined[q] (false on entry) says whether a node defines
 * queries[q]: the caller asks for what it looks up after the nodes. */
static void s_check_nodes(s_check_t *c, const char *graph, uint32_t first, uint32_t n_nodes, uint64_t n_strs,
                          uint64_t n_outs, s_scope_t *scope, int depth, const s_sl_t *queries, size_t n_queries,
                          bool *query_defined)
{
    const s_rd_t *r = c->r;
    if (s_par_wanted(c, n_nodes, n_strs)) {
        s_check_nodes_par(c, graph, first, n_nodes, n_outs, scope, queries, n_queries, query_defined);
        return;
    }
    s_nodes_t prod = {.first = first, .n = n_nodes};
    s_names_grow(&scope->names, scope->names.count + n_nodes);
    for (uint32_t i = 0; i < n_nodes; i++) {
        /* The slot a node's output lands in is a cache miss in a large table: ask for it
         * S_PREFETCH_NODES nodes ahead (a prefetch of a stale address is harmless). */
        if (i + S_PREFETCH_NODES < n_nodes) {
            const s_node_t *ahead = &S_AT(r->nodes, s_node_t, first + i + S_PREFETCH_NODES);
            if (ahead->n_out)
                __builtin_prefetch(&scope->names.slots[ahead->out0_hash & (scope->names.cap - 1)], 1);
        }
        s_check_node(c, graph, (long)i, &S_AT(r->nodes, s_node_t, first + i), scope, &prod, depth);
    }
    s_names_free(&prod.producers);
}

static void s_load_opsets(s_check_t *c, const char *where, uint32_t first, uint32_t n)
{
    const s_rd_t *r = c->r;
    ferry_onnx_map_free(&c->opsets);
    for (size_t i = 0; i < c->n_opset_keys; i++)
        free(c->opset_keys[i]);
    c->n_opset_keys = 0;
    s_op_cache_clear(c);
    for (uint32_t i = 0; i < n; i++) {
        const s_opset_t *o = &S_AT(r->opsets, s_opset_t, first + i);
        s_sl_t d = s_canonical(r, o->domain);
        char *domain = s_dup(r, d);
        if (!o->has_version || o->version <= 0)
            s_problem(c, where, -1, NULL, "opset_import of domain '%s' has no valid version",
                      *domain ? domain : "ai.onnx");
        c->opset_keys = ferry_reallocarray(c->opset_keys, c->n_opset_keys + 1, sizeof *c->opset_keys);
        c->opset_keys[c->n_opset_keys++] = domain;
        if (!ferry_onnx_map_put(&c->opsets, domain, (long)o->version))
            s_problem(c, where, -1, NULL, "domain '%s' is imported more than once", *domain ? domain : "ai.onnx");
    }
}

static void s_check(const s_rd_t *r, ferry_onnx_problems_t *out)
{
    memset(out, 0, sizeof *out);
    s_check_t c = {.r = r, .out = out};
    if (!r->has_ir_version || r->ir_version <= 0)
        s_problem(&c, "model", -1, NULL, "ir_version is missing");
    if (r->n_opset == 0)
        s_problem(&c, "model", -1, NULL, "no opset_import: the operator set of the model is unknown");
    for (uint32_t i = 0; i < r->n_func; i++) {
        const s_func_t *f = &S_AT(r->funcs, s_func_t, r->func_first + i);
        char *key = s_pair_key(r, s_canonical(r, f->domain), f->name, NULL, 0);
        c.fn_keys = ferry_reallocarray(c.fn_keys, c.n_fn_keys + 1, sizeof *c.fn_keys);
        c.fn_keys[c.n_fn_keys++] = key;
        if (!ferry_onnx_map_put(&c.functions, key, 1))
            s_problem(&c, "model", -1, NULL, "function %s is defined more than once", key);
    }
    for (uint32_t i = 0; i < r->n_func; i++) {
        const s_func_t *f = &S_AT(r->funcs, s_func_t, r->func_first + i);
        char where[S_FUNCTION_PATH];
        snprintf(where, sizeof where, "function %.*s:%.*s", S_FMT(r, f->domain), S_FMT(r, f->name));
        s_load_opsets(&c, where, f->opset_first, f->n_opset);
        if (!f->n_opset)
            s_load_opsets(&c, where, r->opset_first, r->n_opset);
        s_scope_t scope = {0};
        for (uint32_t k = 0; k < f->n_in; k++) {
            s_sl_t in = S_AT(r->fn_inputs, s_sl_t, f->in_first + k);
            s_names_add(&scope.names, r->data, in, s_hash_sl(r, in))->value = S_DEFINED;
        }
        const s_sl_t *outs = f->n_out ? &S_AT(r->fn_outputs, s_sl_t, f->out_first) : NULL;
        bool *out_defined = ferry_calloc((size_t)f->n_out + 1, sizeof *out_defined);
        s_check_nodes(&c, where, f->node_first, f->n_node, f->n_strs, f->n_outs, &scope, 1, outs, f->n_out,
                      out_defined);
        for (uint32_t k = 0; k < f->n_out; k++) {
            s_sl_t o = outs[k];
            if (!out_defined[k] && !s_defined(r, &scope, o, s_hash_sl(r, o)))
                s_problem(&c, where, -1, NULL, "function output '%.*s' is not produced", S_FMT(r, o));
        }
        free(out_defined);
        s_names_free(&scope.names);
    }
    s_load_opsets(&c, "model", r->opset_first, r->n_opset);
    if (!r->has_graph)
        s_problem(&c, "model", -1, NULL, "the model has no graph");
    else
        s_check_graph(&c, "main", r->main_graph, NULL, true, 0);
    ferry_onnx_map_free(&c.opsets);
    for (size_t i = 0; i < c.n_opset_keys; i++)
        free(c.opset_keys[i]);
    free(c.opset_keys);
    free(c.cached);
    ferry_onnx_map_free(&c.functions);
    for (size_t i = 0; i < c.n_fn_keys; i++)
        free(c.fn_keys[i]);
    free(c.fn_keys);
}

/* ---- summary (onnx_inspect.c over the records) -------------------------------------------- */

typedef struct {
    const s_rd_t *r;
    ferry_onnx_summary_t *s;
    ferry_onnx_map_t op_index; /* "domain\x1fop" -> index in s->ops; keys in op_keys */
    char **op_keys;
    size_t n_op_keys;
    uint32_t *op_to_index; /* index of s_rd_t.ops -> index in s->ops (S_NONE: not yet) */
} s_inspect_t;

static void s_count_op(s_inspect_t *in, uint32_t op_index, size_t count)
{
    const s_rd_t *r = in->r;
    uint32_t idx = in->op_to_index[op_index];
    if (idx != S_NONE) {
        in->s->ops[idx].count += count;
        return;
    }
    /* a new pair: onnx_inspect.c keys its histogram by "domain\x1fop", which two different
     * pairs may share; look that key up so such pairs count together there as here */
    s_sl_t domain = S_AT(r->ops, s_op_t, op_index).domain, op = S_AT(r->ops, s_op_t, op_index).op;
    char buf[256];
    char *key = s_pair_key(r, domain, op, buf, sizeof buf);
    long *found = ferry_onnx_map_get(&in->op_index, key);
    ferry_onnx_summary_t *s = in->s;
    if (found) {
        idx = (uint32_t)*found;
        if (key != buf)
            free(key);
    } else {
        if (key == buf)
            key = ferry_strdup(buf);
        s->ops = ferry_reallocarray(s->ops, s->n_ops + 1, sizeof *s->ops);
        s->ops[s->n_ops] = (ferry_onnx_opcount_t){s_dup(r, domain), s_dup(r, op), 0};
        in->op_keys = ferry_reallocarray(in->op_keys, in->n_op_keys + 1, sizeof *in->op_keys);
        in->op_keys[in->n_op_keys++] = key;
        idx = (uint32_t)s->n_ops;
        ferry_onnx_map_put(&in->op_index, key, (long)s->n_ops++);
    }
    in->op_to_index[op_index] = idx;
    s->ops[idx].count += count;
}

static void s_walk_graph(s_inspect_t *in, uint32_t gi, bool is_main)
{
    const s_rd_t *r = in->r;
    const s_graph_t *g = &S_AT(r->graphs, s_graph_t, gi);
    if (!is_main)
        in->s->subgraphs++;
    if (is_main && r->main_ops) { /* counted by the parse, in the order of first use */
        in->s->node_count += g->n_node;
        for (size_t k = 0; k < r->n_main_ops; k++)
            s_count_op(in, r->main_ops[k].op, r->main_ops[k].count);
        return;
    }
    if (is_main && r->jobs.n <= 1) {
        /* no subgraph anywhere (the main graph is the one deferred graph): count by operator
         * index, then add the counts in the order of first use, as node by node would */
        s_op_use_t *uses = ferry_calloc(r->ops.n + 1, sizeof *uses);
        for (uint32_t i = 0; i < g->n_node; i++) {
            s_op_use_t *u = &uses[S_AT(r->nodes, s_node_t, g->node_first + i).op];
            if (!u->count++)
                u->first = i;
        }
        size_t n_used = 0;
        for (size_t k = 0; k < r->ops.n; k++)
            if (uses[k].count)
                uses[n_used++] = (s_op_use_t){uses[k].first, (uint32_t)k, uses[k].count};
        qsort(uses, n_used, sizeof *uses, s_cmp_op_use);
        in->s->node_count += g->n_node;
        for (size_t k = 0; k < n_used; k++)
            s_count_op(in, uses[k].op, uses[k].count);
        free(uses);
        return;
    }
    for (uint32_t i = 0; i < g->n_node; i++) {
        const s_node_t *node = &S_AT(r->nodes, s_node_t, g->node_first + i);
        in->s->node_count++;
        s_count_op(in, node->op, 1);
        for (uint32_t a = 0; a < node->n_attr; a++) {
            const s_attr_t *attr = &S_AT(r->attrs, s_attr_t, node->attr_first + a);
            if (attr->has_g)
                s_walk_graph(in, attr->g, false);
            for (uint32_t k = 0; k < attr->n_graphs; k++)
                s_walk_graph(in, S_AT(r->graph_refs, uint32_t, attr->graphs_first + k), false);
        }
    }
}

static void s_io(const s_rd_t *r, ferry_onnx_io_t *io, const s_vi_t *vi)
{
    memset(io, 0, sizeof *io);
    io->name = s_dup(r, vi->name);
    io->kind = "unknown";
    if (!vi->has_type)
        return;
    switch (vi->kind) {
    case 1: io->kind = "tensor"; break;
    case 8: io->kind = "sparse_tensor"; break;
    case 4: io->kind = "sequence"; break;
    case 5: io->kind = "map"; break;
    case 9: io->kind = "optional"; break;
    default: break;
    }
    if (vi->kind != 1 && vi->kind != 8)
        return;
    io->elem_type = vi->has_elem_type ? vi->elem_type : 0;
    if (!vi->has_shape)
        return;
    io->has_shape = true;
    io->rank = vi->n_dims;
    io->dims = ferry_calloc(vi->n_dims ? vi->n_dims : 1, sizeof *io->dims);
    for (uint32_t i = 0; i < vi->n_dims; i++) {
        const s_dim_t *d = &S_AT(r->dims, s_dim_t, vi->dim_first + i);
        if (d->which == 1)
            io->dims[i] = ferry_asprintf("%lld", (long long)d->value);
        else if (d->which == 2)
            io->dims[i] = s_dup(r, d->param);
    }
}

static int s_cmp_ops(const void *a, const void *b)
{
    const ferry_onnx_opcount_t *x = a, *y = b;
    int c = strcmp(x->domain, y->domain);
    return c ? c : strcmp(x->op_type, y->op_type);
}

/* sha256: the hex digest, or NULL for none */
static void s_summarize(const s_rd_t *r, const char *name, const char *sha256, ferry_onnx_summary_t *s)
{
    memset(s, 0, sizeof *s);
    s->file = ferry_strdup(name);
    s->file_bytes = r->len;
    if (sha256)
        memcpy(s->sha256, sha256, sizeof s->sha256);
    s->ir_version = r->has_ir_version ? r->ir_version : 0;
    s->producer_name = s_dup(r, r->producer_name);
    s->producer_version = s_dup(r, r->producer_version);
    s->domain = s_dup(r, r->domain);
    s->model_version = r->has_model_version ? r->model_version : 0;
    s->n_opsets = r->n_opset;
    s->opset_domains = ferry_calloc(s->n_opsets + 1, sizeof *s->opset_domains);
    s->opset_versions = ferry_calloc(s->n_opsets + 1, sizeof *s->opset_versions);
    for (uint32_t i = 0; i < r->n_opset; i++) {
        const s_opset_t *o = &S_AT(r->opsets, s_opset_t, r->opset_first + i);
        s->opset_domains[i] = s_dup(r, s_canonical(r, o->domain));
        s->opset_versions[i] = o->version;
    }
    s_inspect_t in = {.r = r, .s = s};
    in.op_to_index = ferry_malloc((r->ops.n + 1) * sizeof *in.op_to_index);
    memset(in.op_to_index, 0xff, (r->ops.n + 1) * sizeof *in.op_to_index); /* S_NONE */
    if (r->has_graph) {
        const s_graph_t *g = &S_AT(r->graphs, s_graph_t, r->main_graph);
        s->main_graph_nodes = g->n_node;
        s_walk_graph(&in, r->main_graph, true);
        s_names_t init_names = {0};
        for (uint32_t i = 0; i < g->n_init; i++) {
            const s_tensor_t *t = &S_AT(r->inits, s_tensor_t, g->init_first + i);
            if (t->name.off != S_ABSENT)
                s_names_add(&init_names, r->data, t->name, s_hash_sl(r, t->name));
            uint64_t numel = t->dims_bad ? 0 : t->numel;
            s->initializer_count++;
            s->parameters += numel;
            uint64_t bytes = numel * ferry_onnx_elem_size(t->has_data_type ? t->data_type : 0);
            if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__STRING)
                bytes += t->string_bytes;
            s->initializer_bytes += bytes;
        }
        s->inputs = ferry_calloc((size_t)g->n_input + 1, sizeof *s->inputs);
        for (uint32_t i = 0; i < g->n_input; i++) {
            const s_vi_t *vi = &S_AT(r->vis, s_vi_t, g->input_first + i);
            if (vi->name.off == S_ABSENT ||
                !s_names_find(&init_names, r->data, (const uint8_t *)s_ptr(r, vi->name), vi->name.len,
                              s_hash_sl(r, vi->name)))
                s_io(r, &s->inputs[s->n_inputs++], vi);
        }
        s->outputs = ferry_calloc((size_t)g->n_output + 1, sizeof *s->outputs);
        for (uint32_t i = 0; i < g->n_output; i++)
            s_io(r, &s->outputs[s->n_outputs++], &S_AT(r->vis, s_vi_t, g->output_first + i));
        s_names_free(&init_names);
    }
    for (uint32_t i = 0; i < r->n_func; i++) {
        const s_func_t *f = &S_AT(r->funcs, s_func_t, r->func_first + i);
        for (uint32_t k = 0; k < f->n_node; k++)
            s_count_op(&in, S_AT(r->nodes, s_node_t, f->node_first + k).op, 1);
    }
    if (s->n_ops > 1)
        qsort(s->ops, s->n_ops, sizeof *s->ops, s_cmp_ops);
    s->n_functions = r->n_func;
    s->function_domains = ferry_calloc(s->n_functions + 1, sizeof(char *));
    s->function_names = ferry_calloc(s->n_functions + 1, sizeof(char *));
    for (uint32_t i = 0; i < r->n_func; i++) {
        const s_func_t *f = &S_AT(r->funcs, s_func_t, r->func_first + i);
        s->function_domains[i] = s_dup(r, f->domain);
        s->function_names[i] = s_dup(r, f->name);
    }
    s->n_meta = r->n_meta;
    s->meta_keys = ferry_calloc(s->n_meta + 1, sizeof(char *));
    s->meta_values = ferry_calloc(s->n_meta + 1, sizeof(char *));
    for (uint32_t i = 0; i < r->n_meta; i++) {
        const s_entry_t *e = &S_AT(r->entries, s_entry_t, r->meta_first + i);
        s->meta_keys[i] = s_dup(r, e->key);
        s->meta_values[i] = s_dup(r, e->value);
    }
    ferry_onnx_map_free(&in.op_index);
    free(in.op_to_index);
    for (size_t i = 0; i < in.n_op_keys; i++)
        free(in.op_keys[i]);
    free(in.op_keys);
}

/* ---- entry points ----------------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t len;
    char hex[65];
} s_hash_job_t;

static void *s_hash_thread(void *arg)
{
    s_hash_job_t *job = arg;
    ferry_sha256_hex(job->data, job->len, job->hex);
    return NULL;
}

int ferry_onnx_fast_analyze(const uint8_t *data, size_t len, const char *name, bool with_sha256,
                            ferry_onnx_summary_t *s, ferry_onnx_problems_t *p)
{
    if (len == 0 || len > FERRY_ONNX_MAX_PROTO_BYTES)
        return FERRY_ONNX_FAST_FALLBACK; /* the loader words these errors */
    /* The file's hash runs beside the parse and the check (on a second core, the bytes warm
     * in the page cache): SHA-NI needs ~6 ms for 7 MiB, as much as a fifth of the rest. */
    s_hash_job_t job = {data, len, {0}};
    pthread_t hasher;
    bool is_hashing = s && with_sha256 && len >= S_THREAD_HASH_BYTES &&
                      pthread_create(&hasher, NULL, s_hash_thread, &job) == 0;
    s_rd_t r;
    s_rd_init(&r, data, len);
    r.busy_cpus = is_hashing ? 1 : 0;
    bool is_fast = s_model(&r) == 0 && !r.fallback;
    if (is_fast && p)
        s_check(&r, p);
    if (is_hashing)
        pthread_join(hasher, NULL);
    else if (is_fast && s && with_sha256)
        ferry_sha256_hex(data, len, job.hex);
    if (is_fast && s)
        s_summarize(&r, name ? name : "<buffer>", with_sha256 ? job.hex : NULL, s);
    s_rd_free(&r);
    return is_fast ? 0 : FERRY_ONNX_FAST_FALLBACK;
}

/* The loader's path for what the fast reader hands over. */
static int s_slow(const uint8_t *data, size_t len, const char *base_dir, const char *name, bool with_sha256,
                  ferry_onnx_summary_t *s, ferry_onnx_problems_t *p, ferry_err_t *err)
{
    ferry_onnx_t *m;
    int rc = ferry_onnx_load_buffer_readonly(data, len, base_dir, name, &m, err);
    if (rc < 0)
        return rc;
    if (s)
        ferry_onnx_summarize(m, with_sha256, s);
    if (p)
        ferry_onnx_check(m, p);
    ferry_onnx_destroy(&m);
    return 0;
}

int ferry_onnx_analyze_buffer(const void *data, size_t len, const char *base_dir, const char *name, bool with_sha256,
                              ferry_onnx_summary_t *s, ferry_onnx_problems_t *p, bool *used_fast, ferry_err_t *err)
{
    bool fast = ferry_onnx_fast_analyze(data, len, name, with_sha256, s, p) == 0;
    if (used_fast)
        *used_fast = fast;
    return fast ? 0 : s_slow(data, len, base_dir, name, with_sha256, s, p, err);
}

int ferry_onnx_analyze_file(const char *path, bool with_sha256, ferry_onnx_summary_t *s, ferry_onnx_problems_t *p,
                            bool *used_fast, ferry_err_t *err)
{
    /* the checks and messages of ferry_onnx_load_file, then one mapping for both paths */
    struct stat st;
    int e;
    if (stat(path, &st) < 0) {
        e = errno;
        return ferry_err(err, "%s: %s", path, strerror(e)), -e;
    }
    if (!S_ISREG(st.st_mode))
        return ferry_err(err, "%s: not a regular file", path), -EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        e = errno;
        return ferry_err(err, "%s: %s", path, strerror(e)), -e;
    }
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        e = S_ISREG(st.st_mode) ? errno : EINVAL;
        close(fd);
        return ferry_err(err, "%s: %s", path, strerror(e)), -e;
    }
    const uint8_t *data = (const uint8_t *)"";
    size_t len = (size_t)st.st_size;
    if (len) {
        /* MAP_POPULATE: the page tables are filled in one call instead of one fault per page
         * (not for a file the loader refuses by its size anyway) */
        int flags = MAP_PRIVATE | (len <= FERRY_ONNX_MAX_PROTO_BYTES ? MAP_POPULATE : 0);
        void *p_map = mmap(NULL, len, PROT_READ, flags, fd, 0);
        if (p_map == MAP_FAILED) {
            e = errno;
            close(fd);
            return ferry_err(err, "%s: %s", path, strerror(e)), -e;
        }
        data = p_map;
    }
    close(fd);
    char *dir_copy = ferry_strdup(path);
    int rc = ferry_onnx_analyze_buffer(data, len, dirname(dir_copy), path, with_sha256, s, p, used_fast, err);
    free(dir_copy);
    if (len)
        munmap((void *)data, len);
    return rc;
}
