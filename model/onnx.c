/* onnx.c -- ONNX model load/save: wire-format validation before protobuf-c, zero-copy
 * raw_data, confined external data, atomic save. The contract is in onnx.h. */
#include "model/onnx.h"
#include "model/onnx_wire.h"
#include "util/file.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stddef.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* TensorProto.raw_data's field number in onnx.proto */
#define S_RAW_DATA_FIELD 9
/* A referenced raw_data is replaced, for protobuf-c, by a marker: nonce + index. */
#define S_MARKER_LEN 16
#define S_SAVE_CHUNK ((size_t)1 << 20)
#define S_MAX_VARINT 10
/* Read-only arena: first chunk, doubling up to the largest chunk; blocks aligned like malloc's. */
#define S_ARENA_FIRST_CHUNK ((size_t)64 << 10)
#define S_ARENA_MAX_CHUNK ((size_t)16 << 20)
#define S_ARENA_ALIGN (sizeof(max_align_t))
#define S_ARENA_PAGE ((size_t)4096)

typedef struct {
    size_t field_start; /* offset of the tag */
    size_t field_end;
    size_t payload;     /* offset of the bytes */
    size_t payload_len;
} s_span_t;

typedef struct {
    char *location;
    ferry_map_t map;
} s_extfile_t;

/* One chunk of the read-only arena: a header, then the blocks handed out. */
typedef struct s_chunk {
    struct s_chunk *next;
    size_t used, cap;
    size_t bytes; /* length of the mapping */
    max_align_t data[];
} s_chunk_t;

struct ferry_onnx {
    Onnx__ModelProto *proto;
    char *name;
    char *base_dir;        /* NULL: external data refused */
    ferry_map_t map;       /* file mapping (load_file) */
    const uint8_t *data;   /* bytes loaded from (mapping or borrowed buffer) */
    size_t len;
    ProtobufCAllocator allocator;
    size_t alloc_used;     /* bytes allocated while decoding (budget check) */
    size_t alloc_budget;   /* 0: unlimited */
    /* While decoding, every allocation is recorded and frees are deferred: protobuf-c
     * leaks some blocks when a decode fails, so on failure everything recorded is
     * freed; on success only the deferred frees are carried out. */
    bool is_decoding;
    void **decode_allocs, **decode_frees;
    size_t n_decode_allocs, cap_decode_allocs, n_decode_frees, cap_decode_frees;
    s_extfile_t *ext;
    size_t n_ext;
    /* Read-only mode: protobuf-c's blocks come from a bump arena (free is a no-op); the
     * arena's chunks are released together on destroy or on a failed decode. */
    bool is_readonly;
    s_chunk_t *arena;      /* newest chunk first */
    size_t arena_next;     /* size of the next chunk */
};

/* ---- allocator: heap, with a decode budget; never frees into the mapping ---------- */

static void s_record(void ***arr, size_t *n, size_t *cap, void *ptr)
{
    if (*n == *cap) {
        *cap = *cap ? 2 * *cap : 1024;
        *arr = ferry_reallocarray(*arr, *cap, sizeof **arr);
    }
    (*arr)[(*n)++] = ptr;
}

/* Bump allocation from the arena: O(1), one malloc per chunk instead of one per string
 * and struct (a 200,000-node model decodes into ~1.5 million blocks). */
static void *s_arena_alloc(ferry_onnx_t *m, size_t size)
{
    size_t need = (size + S_ARENA_ALIGN - 1) & ~(size_t)(S_ARENA_ALIGN - 1);
    if (need < size)
        return NULL;
    s_chunk_t *c = m->arena;
    if (!c || c->cap - c->used < need) {
        size_t cap = m->arena_next ? m->arena_next : S_ARENA_FIRST_CHUNK;
        if (m->arena_next < S_ARENA_MAX_CHUNK)
            m->arena_next = cap * 2;
        if (cap < need)
            cap = need;
        if (cap > SIZE_MAX - sizeof *c - S_ARENA_PAGE)
            return NULL;
        size_t bytes = (sizeof *c + cap + S_ARENA_PAGE - 1) & ~(S_ARENA_PAGE - 1);
        /* MAP_POPULATE: one call faults the whole chunk in; page by page, first-touch
         * faults were a third of the decode time. */
        void *mem = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
        if (mem == MAP_FAILED)
            return NULL;
        c = mem;
        c->used = 0;
        c->cap = bytes - sizeof *c;
        c->bytes = bytes;
        c->next = m->arena;
        m->arena = c;
    }
    void *p = (uint8_t *)c->data + c->used;
    c->used += need;
    return p;
}

static void s_arena_free_all(ferry_onnx_t *m)
{
    while (m->arena) {
        s_chunk_t *next = m->arena->next;
        munmap(m->arena, m->arena->bytes);
        m->arena = next;
    }
    m->arena_next = 0;
}

static void *s_alloc(void *ad, size_t size)
{
    ferry_onnx_t *m = ad;
    if (m->alloc_budget) {
        if (size > m->alloc_budget - m->alloc_used)
            return NULL; /* protobuf-c fails the decode */
        m->alloc_used += size;
    }
    if (m->is_readonly)
        return s_arena_alloc(m, size ? size : 1);
    void *p = malloc(size ? size : 1);
    if (p && m->is_decoding)
        s_record(&m->decode_allocs, &m->n_decode_allocs, &m->cap_decode_allocs, p);
    return p;
}

static void s_free(void *ad, void *ptr)
{
    ferry_onnx_t *m = ad;
    const uint8_t *p = ptr;
    if (!ptr || m->is_readonly || (m->data && p >= m->data && p < m->data + m->len))
        return;
    if (m->is_decoding) {
        s_record(&m->decode_frees, &m->n_decode_frees, &m->cap_decode_frees, ptr);
        return;
    }
    free(ptr);
}

/* End of a decode: carry out the deferred frees (success) or free every block
 * allocated during it (failure). */
static void s_decode_end(ferry_onnx_t *m, bool ok)
{
    m->is_decoding = false;
    if (m->is_readonly && !ok)
        s_arena_free_all(m);
    void **list = ok ? m->decode_frees : m->decode_allocs;
    size_t n = ok ? m->n_decode_frees : m->n_decode_allocs;
    for (size_t i = 0; i < n; i++)
        free(list[i]);
    free(m->decode_allocs);
    free(m->decode_frees);
    m->decode_allocs = m->decode_frees = NULL;
    m->n_decode_allocs = m->cap_decode_allocs = m->n_decode_frees = m->cap_decode_frees = 0;
}

/* ---- wire-format walk ---------------------------------------------------------------- */

typedef struct {
    const uint8_t *data;
    size_t len;
    const char *name;
    ferry_err_t *err;
    const char *path[FERRY_ONNX_MAX_DEPTH + 2];
    int depth;
    bool collect;
    s_span_t *spans;
    size_t n_spans, cap_spans;
} s_wire_t;

static int s_varint(const uint8_t *p, size_t avail, uint64_t *value, size_t *used)
{
    uint64_t v = 0;
    for (size_t i = 0; i < S_MAX_VARINT && i < avail; i++) {
        v |= (uint64_t)(p[i] & 0x7f) << (7 * i);
        if (!(p[i] & 0x80)) {
            if (i == S_MAX_VARINT - 1 && p[i] > 1)
                return -1; /* more than 64 bits */
            *value = v;
            *used = i + 1;
            return 0;
        }
    }
    return -1;
}

static int s_wire_error(s_wire_t *w, size_t offset, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int s_wire_error(s_wire_t *w, size_t offset, const char *field, const char *fmt, ...)
{
    if (!w->err)
        return -EBADMSG;
    char where[512];
    size_t n = 0;
    where[0] = '\0';
    for (int i = 0; i <= w->depth && i < (int)FERRY_ARRAY_LEN(w->path); i++) {
        if (!w->path[i])
            continue;
        int k = snprintf(where + n, sizeof where - n, "%s%s", i ? "." : "", w->path[i]);
        if (k < 0 || (size_t)k >= sizeof where - n) {
            n = sizeof where - 1;
            break;
        }
        n += (size_t)k;
    }
    if (field && n + 2 < sizeof where)
        snprintf(where + n, sizeof where - n, ".%s", field);
    char what[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    ferry_err(w->err, "%s: byte %zu, in %s: %s", w->name, offset, where, what);
    return -EBADMSG;
}

static int s_walk(s_wire_t *w, const ProtobufCMessageDescriptor *desc, size_t start, size_t end)
{
    size_t pos = start;
    while (pos < end) {
        size_t field_start = pos, used;
        uint64_t tag, value;
        if (s_varint(w->data + pos, end - pos, &tag, &used) < 0)
            return s_wire_error(w, pos, NULL, "truncated or over-long varint where a field tag was expected");
        if (used > FERRY_ONNX_WIRE_MAX_TAG_BYTES) /* protobuf-c refuses longer (zero-padded) tags */
            return s_wire_error(w, pos, NULL, "a field tag of %zu bytes (at most %d)", used, FERRY_ONNX_WIRE_MAX_TAG_BYTES);
        pos += used;
        uint64_t number = tag >> 3;
        unsigned wire = (unsigned)(tag & 7);
        if (number == 0 || number > 536870911u)
            return s_wire_error(w, field_start, NULL, "invalid field number %llu", (unsigned long long)number);
        const ProtobufCFieldDescriptor *fd = protobuf_c_message_descriptor_get_field(desc, (unsigned)number);
        const char *fname = fd ? fd->name : NULL;
        char unknown[32];
        if (!fd) {
            snprintf(unknown, sizeof unknown, "<field %u>", (unsigned)number);
            fname = unknown;
        }
        switch (wire) {
        case 0:
            if (s_varint(w->data + pos, end - pos, &value, &used) < 0)
                return s_wire_error(w, pos, fname, "truncated or over-long varint");
            if (fd && !ferry_onnx_wire_is_varint(fd->type))
                return s_wire_error(w, field_start, fname, "wire type varint does not match the field's type");
            pos += used;
            break;
        case 1:
        case 5: {
            size_t size = wire == 1 ? 8 : 4;
            if (end - pos < size)
                return s_wire_error(w, pos, fname, "truncated: %zu-byte value needs %zu bytes, %zu left", size, size,
                                    end - pos);
            if (fd && ferry_onnx_wire_fixed_size(fd->type) != size)
                return s_wire_error(w, field_start, fname, "wire type fixed%zu does not match the field's type",
                                    size * 8);
            pos += size;
            break;
        }
        case 2: {
            if (s_varint(w->data + pos, end - pos, &value, &used) < 0)
                return s_wire_error(w, pos, fname, "truncated or over-long length varint");
            pos += used;
            if (value > end - pos)
                return s_wire_error(w, pos, fname, "length %llu exceeds the %zu bytes left in the enclosing message",
                                    (unsigned long long)value, end - pos);
            if (value > FERRY_ONNX_MAX_PROTO_BYTES)
                return s_wire_error(w, pos, fname, "length %llu is over protobuf's 2 GiB limit",
                                    (unsigned long long)value);
            size_t payload = pos, plen = (size_t)value;
            pos += plen;
            if (!fd)
                break;
            if (fd->type == PROTOBUF_C_TYPE_MESSAGE) {
                if (w->depth + 1 > FERRY_ONNX_MAX_DEPTH)
                    return s_wire_error(w, field_start, fname, "messages nested deeper than %d levels",
                                        FERRY_ONNX_MAX_DEPTH);
                w->depth++;
                w->path[w->depth] = fd->name;
                int rc = s_walk(w, fd->descriptor, payload, payload + plen);
                w->path[w->depth] = NULL;
                w->depth--;
                if (rc < 0)
                    return rc;
            } else if (fd->type == PROTOBUF_C_TYPE_BYTES || fd->type == PROTOBUF_C_TYPE_STRING) {
                if (w->collect && desc == &onnx__tensor_proto__descriptor && number == S_RAW_DATA_FIELD &&
                    plen >= FERRY_ONNX_MAP_MIN_BYTES) {
                    if (w->n_spans == w->cap_spans) {
                        w->cap_spans = w->cap_spans ? 2 * w->cap_spans : 64;
                        w->spans = ferry_reallocarray(w->spans, w->cap_spans, sizeof *w->spans);
                    }
                    w->spans[w->n_spans++] = (s_span_t){field_start, pos, payload, plen};
                }
            } else if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
                size_t fixed = ferry_onnx_wire_fixed_size(fd->type);
                if (fixed) {
                    if (plen % fixed)
                        return s_wire_error(w, payload, fname, "packed length %zu is not a multiple of %zu", plen,
                                            fixed);
                } else {
                    for (size_t p = payload; p < payload + plen; p += used)
                        if (s_varint(w->data + p, payload + plen - p, &value, &used) < 0)
                            return s_wire_error(w, p, fname, "truncated or over-long varint in packed field");
                }
            } else {
                return s_wire_error(w, field_start, fname, "length-delimited wire type does not match the field's type");
            }
            break;
        }
        case 3:
        case 4:
            return s_wire_error(w, field_start, fname, "protobuf groups (wire type %u) are not used by ONNX", wire);
        default:
            return s_wire_error(w, field_start, fname, "invalid wire type %u", wire);
        }
    }
    return 0;
}

int ferry_onnx_validate_wire(const uint8_t *data, size_t len, const ProtobufCMessageDescriptor *desc,
                             const char *name, ferry_err_t *err)
{
    s_wire_t w = {.data = data, .len = len, .name = name ? name : "<buffer>", .err = err};
    w.path[0] = desc->short_name;
    if (len > FERRY_ONNX_MAX_PROTO_BYTES)
        return ferry_err(err, "%s: %zu bytes is over protobuf's 2 GiB limit for one message (use external data)",
                         w.name, len),
               -EFBIG;
    return s_walk(&w, desc, 0, len);
}

/* Rewrite [start,end) of a message of type desc, with every collected raw_data span in
 * it replaced by a marker; sub-messages without spans are copied verbatim. */
static void s_compact(s_wire_t *w, const uint8_t nonce[8], size_t start, size_t end, size_t *span_i,
                      ferry_buf_t *out)
{
    size_t pos = start;
    while (pos < end) {
        if (*span_i >= w->n_spans || w->spans[*span_i].field_start >= end) {
            ferry_buf_append(out, w->data + pos, end - pos);
            return;
        }
        size_t field_start = pos, used;
        uint64_t tag, value;
        s_varint(w->data + pos, end - pos, &tag, &used); /* validated by s_walk */
        pos += used;
        size_t tag_len = used;
        switch (tag & 7) {
        case 0:
            s_varint(w->data + pos, end - pos, &value, &used);
            pos += used;
            ferry_buf_append(out, w->data + field_start, pos - field_start);
            break;
        case 1:
            pos += 8;
            ferry_buf_append(out, w->data + field_start, pos - field_start);
            break;
        case 5:
            pos += 4;
            ferry_buf_append(out, w->data + field_start, pos - field_start);
            break;
        default: {
            s_varint(w->data + pos, end - pos, &value, &used);
            size_t payload = pos + used, field_end = payload + (size_t)value;
            pos = field_end;
            const s_span_t *sp = &w->spans[*span_i];
            uint8_t hdr[S_MAX_VARINT];
            if (sp->field_start == field_start) {
                uint8_t marker[S_MARKER_LEN];
                uint64_t index = *span_i;
                memcpy(marker, nonce, 8);
                memcpy(marker + 8, &index, 8);
                ferry_buf_append(out, w->data + field_start, tag_len);
                ferry_buf_append(out, hdr, ferry_onnx_wire_put_varint(hdr, S_MARKER_LEN));
                ferry_buf_append(out, marker, sizeof marker);
                (*span_i)++;
            } else if (sp->field_start > payload && sp->field_start < field_end) {
                ferry_buf_t child = FERRY_BUF_INIT;
                s_compact(w, nonce, payload, field_end, span_i, &child);
                ferry_buf_append(out, w->data + field_start, tag_len);
                ferry_buf_append(out, hdr, ferry_onnx_wire_put_varint(hdr, child.len));
                ferry_buf_append(out, child.data, child.len);
                ferry_buf_free(&child);
            } else {
                ferry_buf_append(out, w->data + field_start, field_end - field_start);
            }
        }
        }
    }
}

/* ---- generic visit of decoded trees ---------------------------------------------------- */

static int s_visit(ProtobufCMessage *msg, const ProtobufCMessageDescriptor *type, ferry_onnx_visit_fn fn, void *arg)
{
    const ProtobufCMessageDescriptor *d = msg->descriptor;
    if (d == type) {
        int rc = fn(msg, arg);
        if (rc)
            return rc;
    }
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        char *base = (char *)msg;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(size_t *)(base + f->quantifier_offset);
            ProtobufCMessage **arr = *(ProtobufCMessage ***)(base + f->offset);
            for (size_t k = 0; k < n; k++) {
                if (!arr[k])
                    continue;
                int rc = s_visit(arr[k], type, fn, arg);
                if (rc)
                    return rc;
            }
        } else {
            if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) && *(uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
            ProtobufCMessage *sub = *(ProtobufCMessage **)(base + f->offset);
            if (sub) {
                int rc = s_visit(sub, type, fn, arg);
                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

int ferry_onnx_visit(ProtobufCMessage *root, const ProtobufCMessageDescriptor *type, ferry_onnx_visit_fn fn,
                     void *arg)
{
    return root ? s_visit(root, type, fn, arg) : 0;
}

/* ---- external data ----------------------------------------------------------------------- */

bool ferry_onnx_location_is_safe(const char *loc)
{
    size_t n = loc ? strnlen(loc, FERRY_ONNX_MAX_LOCATION + 1) : 0;
    if (n == 0 || n > FERRY_ONNX_MAX_LOCATION || loc[0] == '/')
        return false;
    const char *p = loc;
    while (*p) {
        const char *slash = strchr(p, '/');
        size_t comp = slash ? (size_t)(slash - p) : strlen(p);
        if (comp == 2 && p[0] == '.' && p[1] == '.')
            return false;
        if (comp >= 1 && memchr(p, '\\', comp))
            return false; /* Windows separators could hide ".." on other readers */
        if (!slash)
            break;
        p = slash + 1;
    }
    return true;
}

static int s_parse_u64(const char *s, uint64_t *v)
{
    if (!s || !*s)
        return -1;
    uint64_t r = 0;
    for (const char *p = s; *p; p++) {
        if (*p < '0' || *p > '9' || r > (UINT64_MAX - 9) / 10)
            return -1;
        r = r * 10 + (uint64_t)(*p - '0');
    }
    *v = r;
    return 0;
}

int ferry_onnx_tensor_extref(const Onnx__TensorProto *t, ferry_onnx_extref_t *ref, ferry_err_t *err)
{
    const char *tname = t->name ? t->name : "";
    ref->location = NULL;
    ref->offset = 0;
    ref->length = UINT64_MAX;
    for (size_t i = 0; i < t->n_external_data; i++) {
        const Onnx__StringStringEntryProto *e = t->external_data[i];
        if (!e || !e->key)
            continue;
        if (!strcmp(e->key, "location")) {
            ref->location = e->value;
        } else if (!strcmp(e->key, "offset")) {
            if (s_parse_u64(e->value, &ref->offset) < 0)
                return ferry_err(err, "tensor '%s': external_data offset '%s' is not a non-negative integer", tname,
                                 e->value ? e->value : ""),
                       -EINVAL;
        } else if (!strcmp(e->key, "length")) {
            if (s_parse_u64(e->value, &ref->length) < 0)
                return ferry_err(err, "tensor '%s': external_data length '%s' is not a non-negative integer", tname,
                                 e->value ? e->value : ""),
                       -EINVAL;
        }
    }
    if (!ref->location)
        return ferry_err(err, "tensor '%s': external data without a 'location' entry", tname), -EINVAL;
    if (!ferry_onnx_location_is_safe(ref->location))
        return ferry_err(err,
                         "tensor '%s': external data location '%.200s' is not a relative path inside the model's "
                         "directory (absolute paths and '..' are refused)",
                         tname, ref->location),
               -EPERM;
    return 0;
}

bool ferry_onnx_tensor_is_external(const Onnx__TensorProto *t)
{
    return t->has_data_location && t->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
}

/* Resolve location under base_dir, following symlinks, and refuse anything that ends
 * outside base_dir or is not a regular file. Returns a fresh real path or NULL. */
static char *s_resolve(const char *base_dir, const char *location, const char *tname, ferry_err_t *err)
{
    char *base_real = realpath(base_dir, NULL);
    char *joined = NULL, *real = NULL;
    if (!base_real) {
        ferry_err(err, "model directory '%s': %s", base_dir, strerror(errno));
        goto fail;
    }
    joined = ferry_asprintf("%s/%s", base_real, location);
    real = realpath(joined, NULL);
    if (!real) {
        ferry_err(err, "tensor '%s': external data file '%s': %s", tname, joined, strerror(errno));
        goto fail;
    }
    size_t bl = strlen(base_real);
    bool inside = !strncmp(real, base_real, bl) && (real[bl] == '/' || (bl == 1 && base_real[0] == '/'));
    if (!inside) {
        ferry_err(err, "tensor '%s': external data '%s' resolves to '%s', outside the model's directory '%s' "
                       "(symlinks leading outside are refused)",
                  tname, location, real, base_real);
        goto fail;
    }
    struct stat st;
    if (stat(real, &st) < 0 || !S_ISREG(st.st_mode)) {
        ferry_err(err, "tensor '%s': external data '%s' is not a regular file", tname, location);
        goto fail;
    }
    free(base_real);
    free(joined);
    return real;
fail:
    free(base_real);
    free(joined);
    free(real);
    return NULL;
}

static int s_ext_map(ferry_onnx_t *m, const char *location, const ferry_map_t **map, const char *tname,
                     ferry_err_t *err)
{
    for (size_t i = 0; i < m->n_ext; i++)
        if (!strcmp(m->ext[i].location, location)) {
            *map = &m->ext[i].map;
            return 0;
        }
    if (!m->base_dir)
        return ferry_err(err, "%s: tensor '%s' has external data but the model was loaded without a directory",
                         m->name, tname),
               -EPERM;
    if (m->n_ext >= FERRY_ONNX_MAX_EXTERNAL_FILES)
        return ferry_err(err, "%s: more than %d external data files", m->name, FERRY_ONNX_MAX_EXTERNAL_FILES),
               -E2BIG;
    char *real = s_resolve(m->base_dir, location, tname, err);
    if (!real)
        return -EPERM;
    ferry_map_t fm;
    int rc = ferry_file_map(real, &fm);
    free(real);
    if (rc < 0)
        return ferry_err(err, "%s: external data '%s': %s", m->name, location, strerror(-rc)), rc;
    m->ext = ferry_reallocarray(m->ext, m->n_ext + 1, sizeof *m->ext);
    m->ext[m->n_ext] = (s_extfile_t){ferry_strdup(location), fm};
    *map = &m->ext[m->n_ext++].map;
    return 0;
}

int ferry_onnx_tensor_bytes(ferry_onnx_t *self, const Onnx__TensorProto *t, const uint8_t **data, size_t *len,
                            ferry_err_t *err)
{
    const char *tname = t->name ? t->name : "";
    if (ferry_onnx_tensor_is_external(t)) {
        ferry_onnx_extref_t ref;
        const ferry_map_t *map;
        int rc = ferry_onnx_tensor_extref(t, &ref, err);
        if (rc < 0)
            return rc;
        if ((rc = s_ext_map(self, ref.location, &map, tname, err)) < 0)
            return rc;
        if (ref.offset > map->len)
            return ferry_err(err, "tensor '%s': external offset %llu is past the end of '%s' (%zu bytes)", tname,
                             (unsigned long long)ref.offset, ref.location, map->len),
                   -ERANGE;
        uint64_t avail = map->len - ref.offset;
        if (ref.length == UINT64_MAX)
            ref.length = avail;
        if (ref.length > avail)
            return ferry_err(err, "tensor '%s': external range %llu+%llu is past the end of '%s' (%zu bytes)", tname,
                             (unsigned long long)ref.offset, (unsigned long long)ref.length, ref.location, map->len),
                   -ERANGE;
        *data = map->data ? map->data + ref.offset : (const uint8_t *)"";
        *len = (size_t)ref.length;
        return 0;
    }
    if (t->has_raw_data) {
        *data = t->raw_data.data ? t->raw_data.data : (const uint8_t *)"";
        *len = t->raw_data.len;
        return 0;
    }
    *data = NULL;
    *len = 0;
    return -ENODATA;
}

/* ---- load ---------------------------------------------------------------------------------- */

typedef struct {
    ferry_onnx_t *model;
    const uint8_t *nonce;
    s_wire_t *wire;
    size_t n_fixed;
    ferry_err_t *err;
} s_fix_t;

static int s_fix_tensor(ProtobufCMessage *msg, void *arg)
{
    s_fix_t *fx = arg;
    Onnx__TensorProto *t = (Onnx__TensorProto *)msg;
    if (fx->wire->n_spans && t->has_raw_data && t->raw_data.len == S_MARKER_LEN &&
        !memcmp(t->raw_data.data, fx->nonce, 8)) {
        uint64_t index;
        memcpy(&index, t->raw_data.data + 8, 8);
        if (index < fx->wire->n_spans) {
            const s_span_t *sp = &fx->wire->spans[index];
            fx->model->allocator.free(fx->model->allocator.allocator_data, t->raw_data.data);
            t->raw_data.data = (uint8_t *)fx->wire->data + sp->payload;
            t->raw_data.len = sp->payload_len;
            fx->n_fixed++;
        }
    }
    if (ferry_onnx_tensor_is_external(t)) {
        const uint8_t *d;
        size_t n;
        if (ferry_onnx_tensor_bytes(fx->model, t, &d, &n, fx->err) < 0)
            return -1;
    }
    return 0;
}

static int s_load(ferry_onnx_t *m, ferry_err_t *err)
{
    s_wire_t w = {.data = m->data, .len = m->len, .name = m->name, .err = err, .collect = true};
    ferry_buf_t compact = FERRY_BUF_INIT;
    int rc;
    w.path[0] = "ModelProto";
    if (m->len > FERRY_ONNX_MAX_PROTO_BYTES) {
        rc = ferry_err(err, "%s: %zu bytes is over protobuf's 2 GiB limit for one message (use external data)",
                       m->name, m->len);
        rc = -EFBIG;
        goto fail;
    }
    if (m->len == 0) {
        rc = ferry_err(err, "%s: empty file, expected an ONNX ModelProto", m->name);
        rc = -EBADMSG;
        goto fail;
    }
    if ((rc = s_walk(&w, &onnx__model_proto__descriptor, 0, m->len)) < 0)
        goto fail;

    uint8_t nonce[8];
    if (getrandom(nonce, sizeof nonce, GRND_NONBLOCK) != (ssize_t)sizeof nonce) {
        uint64_t mix = (uint64_t)time(NULL) ^ (uint64_t)(uintptr_t)m ^ ((uint64_t)getpid() << 32);
        memcpy(nonce, &mix, 8);
    }
    const uint8_t *bytes = m->data;
    size_t nbytes = m->len;
    if (w.n_spans) {
        size_t span_i = 0;
        s_compact(&w, nonce, 0, m->len, &span_i, &compact);
        bytes = (const uint8_t *)compact.data;
        nbytes = compact.len;
    }
    m->alloc_used = 0;
    m->alloc_budget = FERRY_ONNX_DECODE_SLACK + FERRY_ONNX_DECODE_FACTOR * nbytes;
    m->is_decoding = true;
    m->proto = (Onnx__ModelProto *)protobuf_c_message_unpack(&onnx__model_proto__descriptor, &m->allocator, nbytes,
                                                             bytes);
    s_decode_end(m, m->proto != NULL);
    bool over = m->alloc_used >= m->alloc_budget || (m->proto == NULL && m->alloc_used > m->alloc_budget / 2);
    m->alloc_budget = 0;
    if (!m->proto) {
        if (over)
            ferry_err(err, "%s: decoding would need more than %zu bytes of memory for a %zu-byte model", m->name,
                      FERRY_ONNX_DECODE_SLACK + FERRY_ONNX_DECODE_FACTOR * nbytes, m->len);
        else
            ferry_err(err, "%s: protobuf-c could not decode the ModelProto (invalid field values)", m->name);
        rc = over ? -ENOMEM : -EBADMSG;
        goto fail;
    }
    ferry_buf_free(&compact);
    s_fix_t fx = {.model = m, .nonce = nonce, .wire = &w, .err = err};
    if (ferry_onnx_visit(&m->proto->base, &onnx__tensor_proto__descriptor, s_fix_tensor, &fx)) {
        rc = -EINVAL;
        goto fail;
    }
    if (fx.n_fixed != w.n_spans) {
        rc = ferry_err(err, "%s: only %zu of %zu large raw_data fields remain after decoding: a tensor repeats its "
                            "raw_data field or a tensor message appears twice (refused: ambiguous data)",
                       m->name, fx.n_fixed, w.n_spans);
        rc = -EBADMSG;
        goto fail;
    }
    free(w.spans);
    return 0;
fail:
    ferry_buf_free(&compact);
    free(w.spans);
    return rc;
}

static ferry_onnx_t *s_new(const char *name, const char *base_dir, bool is_readonly)
{
    ferry_onnx_t *m = ferry_calloc(1, sizeof *m);
    m->is_readonly = is_readonly;
    m->name = ferry_strdup(name ? name : "<buffer>");
    m->base_dir = base_dir ? ferry_strdup(base_dir) : NULL;
    m->allocator = (ProtobufCAllocator){.alloc = s_alloc, .free = s_free, .allocator_data = m};
    return m;
}

static int s_load_file(const char *path, bool is_readonly, ferry_onnx_t **model_p, ferry_err_t *err)
{
    *model_p = NULL;
    char *dir_copy = ferry_strdup(path);
    ferry_onnx_t *m = s_new(path, dirname(dir_copy), is_readonly);
    free(dir_copy);
    struct stat st;
    int rc;
    if (stat(path, &st) < 0) {
        rc = -errno;
        ferry_err(err, "%s: %s", path, strerror(errno));
        goto fail;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = -EINVAL;
        ferry_err(err, "%s: not a regular file", path);
        goto fail;
    }
    if ((rc = ferry_file_map(path, &m->map)) < 0) {
        ferry_err(err, "%s: %s", path, strerror(-rc));
        goto fail;
    }
    m->data = m->map.data;
    m->len = m->map.len;
    if ((rc = s_load(m, err)) < 0)
        goto fail;
    *model_p = m;
    return 0;
fail:
    ferry_onnx_destroy(&m);
    return rc;
}

int ferry_onnx_load_file(const char *path, ferry_onnx_t **model_p, ferry_err_t *err)
{
    return s_load_file(path, false, model_p, err);
}

int ferry_onnx_load_file_readonly(const char *path, ferry_onnx_t **model_p, ferry_err_t *err)
{
    return s_load_file(path, true, model_p, err);
}

static int s_load_buffer(const void *data, size_t len, const char *base_dir, const char *name, bool is_readonly,
                         ferry_onnx_t **model_p, ferry_err_t *err)
{
    *model_p = NULL;
    ferry_onnx_t *m = s_new(name, base_dir, is_readonly);
    m->data = data;
    m->len = len;
    int rc = s_load(m, err);
    if (rc < 0) {
        ferry_onnx_destroy(&m);
        return rc;
    }
    *model_p = m;
    return 0;
}

int ferry_onnx_load_buffer(const void *data, size_t len, const char *base_dir, const char *name,
                           ferry_onnx_t **model_p, ferry_err_t *err)
{
    return s_load_buffer(data, len, base_dir, name, false, model_p, err);
}

int ferry_onnx_load_buffer_readonly(const void *data, size_t len, const char *base_dir, const char *name,
                                    ferry_onnx_t **model_p, ferry_err_t *err)
{
    return s_load_buffer(data, len, base_dir, name, true, model_p, err);
}

void ferry_onnx_destroy(ferry_onnx_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ferry_onnx_t *m = *self_p;
    if (m->proto && !m->is_readonly)
        protobuf_c_message_free_unpacked(&m->proto->base, &m->allocator);
    s_arena_free_all(m);
    for (size_t i = 0; i < m->n_ext; i++) {
        ferry_file_unmap(&m->ext[i].map);
        free(m->ext[i].location);
    }
    free(m->ext);
    ferry_file_unmap(&m->map);
    free(m->name);
    free(m->base_dir);
    free(m);
    *self_p = NULL;
}

Onnx__ModelProto *ferry_onnx_proto(ferry_onnx_t *self)
{
    return self->proto;
}

const uint8_t *ferry_onnx_bytes(const ferry_onnx_t *self, size_t *len)
{
    *len = self->len;
    return self->data;
}

const char *ferry_onnx_name(const ferry_onnx_t *self)
{
    return self->name;
}

const char *ferry_onnx_base_dir(const ferry_onnx_t *self)
{
    return self->base_dir;
}

void ferry_onnx_free_message(ferry_onnx_t *self, ProtobufCMessage *msg)
{
    if (msg && !self->is_readonly) /* read-only: the arena holds it until destroy */
        protobuf_c_message_free_unpacked(msg, &self->allocator);
}

/* ---- save ------------------------------------------------------------------------------------ */

typedef struct {
    ProtobufCBuffer base;
    ferry_buf_t *out;
} s_membuf_t;

static void s_membuf_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    s_membuf_t *mb = (s_membuf_t *)b;
    if (!len)
        return; /* protobuf-c passes NULL data for empty bytes */
    ferry_buf_append(mb->out, data, len);
}

void ferry_onnx_pack(const ProtobufCMessage *msg, ferry_buf_t *out)
{
    s_membuf_t mb = {.base = {.append = s_membuf_append}, .out = out};
    ferry_buf_reserve(out, protobuf_c_message_get_packed_size(msg));
    protobuf_c_message_pack_to_buffer(msg, &mb.base);
}

typedef struct {
    ProtobufCBuffer base;
    int fd;
    int error; /* first errno */
    uint8_t *chunk;
    size_t used;
} s_filebuf_t;

static void s_write_all(s_filebuf_t *fb, const uint8_t *data, size_t len)
{
    while (len && !fb->error) {
        ssize_t n = write(fb->fd, data, len);
        if (n < 0) {
            if (errno != EINTR)
                fb->error = errno;
            continue;
        }
        data += n;
        len -= (size_t)n;
    }
}

static void s_filebuf_append(ProtobufCBuffer *b, size_t len, const uint8_t *data)
{
    s_filebuf_t *fb = (s_filebuf_t *)b;
    if (!len)
        return;
    if (fb->used + len > S_SAVE_CHUNK) {
        s_write_all(fb, fb->chunk, fb->used);
        fb->used = 0;
    }
    if (len >= S_SAVE_CHUNK) {
        s_write_all(fb, data, len);
        return;
    }
    memcpy(fb->chunk + fb->used, data, len);
    fb->used += len;
}

static int s_copy_file(const char *src, const char *dst)
{
    int in = open(src, O_RDONLY | O_CLOEXEC), out = -1, rc = 0;
    if (in < 0)
        return -errno;
    out = open(dst, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (out < 0) {
        rc = -errno;
        goto done;
    }
    char buf[1 << 16];
    for (;;) {
        ssize_t n = read(in, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            goto done;
        }
        if (n == 0)
            break;
        for (ssize_t off = 0; off < n;) {
            ssize_t k = write(out, buf + off, (size_t)(n - off));
            if (k < 0 && errno == EINTR)
                continue;
            if (k < 0) {
                rc = -errno;
                goto done;
            }
            off += k;
        }
    }
    if (fsync(out) < 0)
        rc = -errno;
done:
    if (out >= 0)
        close(out);
    close(in);
    return rc;
}

typedef struct {
    ferry_onnx_t *model;
    const char *out_dir;
    ferry_err_t *err;
    int rc;
} s_extcopy_t;

static int s_copy_external(ProtobufCMessage *msg, void *arg)
{
    s_extcopy_t *xc = arg;
    Onnx__TensorProto *t = (Onnx__TensorProto *)msg;
    if (!ferry_onnx_tensor_is_external(t))
        return 0;
    ferry_onnx_extref_t ref;
    if ((xc->rc = ferry_onnx_tensor_extref(t, &ref, xc->err)) < 0)
        return 1;
    if (!xc->model->base_dir) {
        xc->rc = ferry_err(xc->err, "%s: tensor '%s' has external data but no source directory", xc->model->name,
                           t->name ? t->name : "");
        return 1;
    }
    char *src = s_resolve(xc->model->base_dir, ref.location, t->name ? t->name : "", xc->err);
    if (!src) {
        xc->rc = -EPERM;
        return 1;
    }
    char *dst = ferry_asprintf("%s/%s", xc->out_dir, ref.location);
    char *dst_dir_copy = ferry_strdup(dst);
    char *dst_real = realpath(dst, NULL);
    int rc = 0;
    if (!dst_real || strcmp(dst_real, src) != 0) { /* not copied yet (same file twice is common) */
        if ((rc = ferry_mkdirs(dirname(dst_dir_copy))) == 0)
            rc = s_copy_file(src, dst);
        if (rc < 0)
            ferry_err(xc->err, "copying external data '%s' to '%s': %s", src, dst, strerror(-rc));
    }
    free(dst_real);
    free(dst_dir_copy);
    free(dst);
    free(src);
    xc->rc = rc;
    return rc < 0;
}

int ferry_onnx_save(ferry_onnx_t *self, const char *path, ferry_err_t *err)
{
    char *dir_copy = ferry_strdup(path);
    const char *out_dir = dirname(dir_copy);
    char *tmp = ferry_asprintf("%s.tmp.XXXXXX", path);
    s_filebuf_t fb = {.base = {.append = s_filebuf_append}, .fd = -1};
    char *out_real = NULL, *base_real = NULL;
    int rc = 0;
    size_t size = protobuf_c_message_get_packed_size(&self->proto->base);
    if (size > FERRY_ONNX_MAX_PROTO_BYTES) {
        ferry_err(err, "%s: the model proto would be %zu bytes, over protobuf's 2 GiB limit (store large tensors as "
                       "external data)",
                  path, size);
        rc = -EFBIG;
        goto fail;
    }
    /* external files first, so a failure never leaves a model pointing at nothing */
    out_real = realpath(out_dir, NULL);
    base_real = self->base_dir ? realpath(self->base_dir, NULL) : NULL;
    if (!out_real) {
        rc = -errno;
        ferry_err(err, "%s: output directory: %s", path, strerror(errno));
        goto fail;
    }
    if (!base_real || strcmp(out_real, base_real) != 0) {
        s_extcopy_t xc = {.model = self, .out_dir = out_real, .err = err};
        if (ferry_onnx_visit(&self->proto->base, &onnx__tensor_proto__descriptor, s_copy_external, &xc)) {
            rc = xc.rc < 0 ? xc.rc : -EIO;
            goto fail;
        }
    }
    fb.fd = mkstemp(tmp);
    if (fb.fd < 0) {
        rc = -errno;
        ferry_err(err, "%s: cannot create a temporary file: %s", path, strerror(errno));
        goto fail;
    }
    fchmod(fb.fd, 0644);
    fb.chunk = ferry_malloc(S_SAVE_CHUNK);
    protobuf_c_message_pack_to_buffer(&self->proto->base, &fb.base);
    s_write_all(&fb, fb.chunk, fb.used);
    if (!fb.error && fsync(fb.fd) < 0)
        fb.error = errno;
    if (close(fb.fd) < 0 && !fb.error)
        fb.error = errno;
    fb.fd = -1;
    if (fb.error || rename(tmp, path) < 0) {
        int e = fb.error ? fb.error : errno;
        unlink(tmp);
        rc = -e;
        ferry_err(err, "%s: write failed: %s", path, strerror(e));
        goto fail;
    }
    int dfd = open(out_real, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
fail:
    if (fb.fd >= 0) {
        close(fb.fd);
        unlink(tmp);
    }
    free(fb.chunk);
    free(out_real);
    free(base_real);
    free(tmp);
    free(dir_copy);
    return rc;
}

/* ---- data types ---------------------------------------------------------------------------- */

size_t ferry_onnx_elem_size(int32_t dt)
{
    switch (dt) {
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT: case ONNX__TENSOR_PROTO__DATA_TYPE__INT32:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT32:
        return 4;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT8: case ONNX__TENSOR_PROTO__DATA_TYPE__INT8:
    case ONNX__TENSOR_PROTO__DATA_TYPE__BOOL:
        return 1;
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT16: case ONNX__TENSOR_PROTO__DATA_TYPE__INT16:
    case ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16: case ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16:
        return 2;
    case ONNX__TENSOR_PROTO__DATA_TYPE__INT64: case ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE:
    case ONNX__TENSOR_PROTO__DATA_TYPE__UINT64: case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX64:
        return 8;
    case ONNX__TENSOR_PROTO__DATA_TYPE__COMPLEX128:
        return 16;
    default:
        return 0;
    }
}

const char *ferry_onnx_type_name(int32_t dt)
{
    static const char *const names[] = {"undefined", "float",  "uint8",  "int8",   "uint16",    "int16",
                                        "int32",     "int64",  "string", "bool",   "float16",   "double",
                                        "uint32",    "uint64", "complex64", "complex128", "bfloat16"};
    static __thread char other[32];
    if (dt >= 0 && (size_t)dt < FERRY_ARRAY_LEN(names))
        return names[dt];
    snprintf(other, sizeof other, "unknown(%d)", dt);
    return other;
}

int ferry_onnx_tensor_numel(const Onnx__TensorProto *t, uint64_t *numel)
{
    uint64_t n = 1;
    for (size_t i = 0; i < t->n_dims; i++) {
        if (t->dims[i] < 0)
            return -EINVAL;
        if (t->dims[i] && n > ((uint64_t)1 << 62) / (uint64_t)t->dims[i])
            return -EOVERFLOW;
        n *= (uint64_t)t->dims[i];
    }
    *numel = n;
    return 0;
}
