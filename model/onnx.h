/* onnx.h -- ONNX models: hardened load (file mmap or buffer), save, tensor data access
 *
 * A loaded model is a ferry_onnx_t that owns an Onnx__ModelProto (the protobuf-c
 * structs generated from Debian's onnx.proto, see build/gen/onnx.pb-c.h) together with
 * the bytes it came from.
 *
 * Hostile input. Before any byte reaches protobuf-c (which recurses without a depth
 * limit and allocates what lengths claim), the loader walks the protobuf wire format
 * itself with the generated descriptors: every tag, wire type, varint and length is
 * checked against the bytes that remain, message nesting is bounded by
 * FERRY_ONNX_MAX_DEPTH, and the memory protobuf-c may allocate is bounded by a budget
 * proportional to the input. Errors name the file, the byte offset and the field path
 * (e.g. "ModelProto.graph.node.attribute.g") and say what was expected.
 *
 * Zero copy. raw_data fields of at least FERRY_ONNX_MAP_MIN_BYTES are not copied: after
 * loading, their ProtobufCBinaryData points straight into the file mapping (or the
 * caller's buffer). Such pointers are NOT aligned for the element type: read them with
 * memcpy, never through a cast `float *`. Everything else is heap memory owned by the
 * model.
 *
 * External data (TensorProto.data_location == EXTERNAL) is resolved relative to the
 * model's directory. Absolute locations, ".." components and symlinks that lead outside
 * that directory are refused at load time (the CVE-2025-51480 family), as are offsets and
 * lengths past the end of the file. Models whose weights live in external files may be
 * far larger than protobuf's 2 GiB limit.
 *
 * Lifetime. ferry_onnx_proto() returns the model's Onnx__ModelProto; it stays valid until
 * ferry_onnx_destroy(). Callers may modify the tree (the opset converter does): anything
 * they attach must be allocated with ferry_malloc/ferry_strdup (plain malloc), since
 * the tree is released with protobuf_c_message_free_unpacked() through an allocator
 * that frees heap pointers and skips pointers into the mapping. Never free() a raw_data
 * pointer yourself: use ferry_onnx_free_message() to drop a subtree.
 *
 * Read-only mode (ferry_onnx_load_*_readonly). For callers that only read the tree
 * (inspect, check): protobuf-c's blocks come from a bump arena owned by the model, so a
 * decode costs one malloc per chunk instead of one per string and struct, and destroy
 * frees the chunks without walking the tree. Contract: the caller must not free,
 * realloc or replace anything in the tree (ferry_onnx_free_message() is a no-op that
 * keeps the memory until destroy); pointers into the tree stay valid until destroy. The
 * same hostile-input checks and decode budget apply. Use the mutable loaders for the
 * converter and anyone who edits the tree.
 */
#ifndef FERRY_ONNX_H
#define FERRY_ONNX_H

#include "util/common.h"
#include "util/buf.h"

#include "onnx.pb-c.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Deepest nesting of protobuf messages accepted. A subgraph costs 4 levels
 * (graph -> node -> attribute -> graph), so this allows about 15 nested subgraphs. */
#define FERRY_ONNX_MAX_DEPTH 64
/* protobuf's own limit on one serialized message: larger models need external data. */
#define FERRY_ONNX_MAX_PROTO_BYTES ((size_t)INT32_MAX)
/* raw_data at least this long is referenced in the mapping rather than copied. */
#define FERRY_ONNX_MAP_MIN_BYTES 4096
/* protobuf-c may allocate at most FACTOR x input + SLACK while decoding (a message of
 * two bytes on the wire becomes a struct of ~100 bytes; real models stay under 6x). */
#define FERRY_ONNX_DECODE_FACTOR 16
#define FERRY_ONNX_DECODE_SLACK ((size_t)64 << 20)
/* External data: longest location string, most distinct files one model may map. */
#define FERRY_ONNX_MAX_LOCATION 4096
#define FERRY_ONNX_MAX_EXTERNAL_FILES 4096

typedef struct ferry_onnx ferry_onnx_t;

/* Load the model at path (mapped read-only, never read whole into the heap).
 * External data is resolved relative to path's directory. Returns 0 and sets *model_p,
 * or a negative errno-style code with err filled (file, byte offset, field, expectation). */
int ferry_onnx_load_file(const char *path, ferry_onnx_t **model_p, ferry_err_t *err);

/* Load from memory. The buffer is BORROWED: it must stay valid and unchanged until the
 * model is destroyed (large raw_data points into it). base_dir (may be NULL: external
 * data is then refused) anchors external data; name (may be NULL) is used in messages. */
int ferry_onnx_load_buffer(const void *data, size_t len, const char *base_dir, const char *name,
                           ferry_onnx_t **model_p, ferry_err_t *err);

/* Same as ferry_onnx_load_file / ferry_onnx_load_buffer, in read-only mode (see the top of
 * this file): faster, and the tree must not be modified. */
int ferry_onnx_load_file_readonly(const char *path, ferry_onnx_t **model_p, ferry_err_t *err);
int ferry_onnx_load_buffer_readonly(const void *data, size_t len, const char *base_dir, const char *name,
                                    ferry_onnx_t **model_p, ferry_err_t *err);

/* Free the model, its tree and its mappings; nulls *self_p; safe on NULL. */
void ferry_onnx_destroy(ferry_onnx_t **self_p);

/* The decoded model (borrowed, valid until destroy; may be modified, see above). */
Onnx__ModelProto *ferry_onnx_proto(ferry_onnx_t *self);
/* The bytes the model was loaded from (borrowed) -- e.g. for a content hash. */
const uint8_t *ferry_onnx_bytes(const ferry_onnx_t *self, size_t *len);
/* Name used in messages (the path, or the name given to load_buffer); never NULL. */
const char *ferry_onnx_name(const ferry_onnx_t *self);
/* Directory external data is resolved against, or NULL. */
const char *ferry_onnx_base_dir(const ferry_onnx_t *self);

/* Write the model to path atomically (temporary file, fsync, rename). Tensors with
 * external data keep their references; when path is in another directory than the
 * model's, the referenced files are copied next to it under the same relative names.
 * Refuses (-EFBIG) a proto over 2 GiB. Returns 0 or negative with err filled. */
int ferry_onnx_save(ferry_onnx_t *self, const char *path, ferry_err_t *err);

/* Serialize any ONNX message (e.g. the model proto) into out (appended). */
void ferry_onnx_pack(const ProtobufCMessage *msg, ferry_buf_t *out);

/* Free a subtree detached from a loaded model (safe for mapped raw_data). */
void ferry_onnx_free_message(ferry_onnx_t *self, ProtobufCMessage *msg);

/* Size in bytes of one element of an ONNX data type (TensorProto.DataType), 0 for
 * STRING and unknown types. */
size_t ferry_onnx_elem_size(int32_t data_type);
/* Name of a data type ("float", "int64", ...) or "undefined(N)" style for unknown ones
 * (the latter in a static buffer: copy it before the next call). */
const char *ferry_onnx_type_name(int32_t data_type);

/* Number of elements of a tensor (product of dims). Returns 0 or -EOVERFLOW / -EINVAL
 * for negative dims or a product over 2^62. */
int ferry_onnx_tensor_numel(const Onnx__TensorProto *t, uint64_t *numel);

/* True when the tensor's data lives in an external file. */
bool ferry_onnx_tensor_is_external(const Onnx__TensorProto *t);

/* The raw little-endian bytes of a tensor stored as raw_data or as external data
 * (mapped on first use, cached until destroy). *data is borrowed and may be unaligned.
 * Returns 0, -ENODATA when the tensor uses typed fields (float_data, ...), or another
 * negative code with err filled. */
int ferry_onnx_tensor_bytes(ferry_onnx_t *self, const Onnx__TensorProto *t, const uint8_t **data,
                            size_t *len, ferry_err_t *err);

/* Parsed external-data reference of a tensor. location is borrowed from the tensor. */
typedef struct {
    const char *location;
    uint64_t offset;
    uint64_t length; /* UINT64_MAX when absent: up to the end of the file */
} ferry_onnx_extref_t;
/* Parse the external_data entries; 0 or negative with err filled (missing location,
 * non-numeric offset/length, unsafe location). */
int ferry_onnx_tensor_extref(const Onnx__TensorProto *t, ferry_onnx_extref_t *ref, ferry_err_t *err);

/* Check that a location is a safe relative path: not empty, not absolute, no ".."
 * component, no NUL, at most FERRY_ONNX_MAX_LOCATION bytes. */
bool ferry_onnx_location_is_safe(const char *location);

/* Visit every message of the given type in a tree, depth first, in field order.
 * fn returns 0 to continue, nonzero to stop (that value is returned). */
typedef int (*ferry_onnx_visit_fn)(ProtobufCMessage *msg, void *arg);
int ferry_onnx_visit(ProtobufCMessage *root, const ProtobufCMessageDescriptor *type, ferry_onnx_visit_fn fn,
                     void *arg);

/* Structural validation of protobuf bytes against a message descriptor, with the same
 * bounds as the loader (depth, lengths, wire types). Exposed for tests and fuzzing. */
int ferry_onnx_validate_wire(const uint8_t *data, size_t len, const ProtobufCMessageDescriptor *desc,
                             const char *name, ferry_err_t *err);

#endif
