/* onnx_fast.h -- inspect + check of an ONNX model straight from the protobuf wire format
 *
 * `ferry inspect` and `ferry check` only read a model. This reader walks ModelProto ->
 * GraphProto -> NodeProto / ValueInfoProto / TensorProto / AttributeProto once, directly
 * on the mapping: names are (offset, length) slices into the bytes, nodes are 32-byte
 * records in one flat array (operator interned; name, inputs and outputs read again from
 * the node's bytes when the checker needs them), names are looked up in open-addressing
 * hash tables of slices, and the file's sha256 runs on a second thread meanwhile. No
 * protobuf-c tree is built (a 200,000-node model decoded into ~1.5 million blocks).
 *
 * Large graphs use several threads (pthreads; by default the online CPUs but the sha256
 * thread's, at most 16 and one per 8192 nodes, and a single thread when fewer than 3 CPUs are
 * free): the main graph's nodes are parsed in chunks once a skim of the graph has found them,
 * and a node list of at least 4096 nodes is checked in chunks, each chunk with the names it
 * defines itself, then the chunks' names merged partition by partition (64, by hash) to
 * settle what crosses chunks. The answers are those of the serial code, word for word and in
 * the same order; anything the serial code must decide (a subgraph anywhere in the model, a
 * wire error, the budget) takes the serial path. FERRY_ONNX_THREADS=N sets the thread count,
 * FERRY_ONNX_PARALLEL_MIN=N the smallest node list parsed and checked in parallel (tests
 * and fuzz_onnx force 1).
 *
 * Same answers as the protobuf-c path. The summary (ferry_onnx_summary_t, and so its JSON)
 * and the problems (ferry_onnx_problems_t) are those ferry_onnx_summarize and
 * ferry_onnx_check give for the same bytes; tests/unit/test_onnx_fast.c compares both paths on
 * every backend test model and on broken variants, tests/fuzz/fuzz_onnx.c on hostile bytes.
 * Where the fast reader would have to reproduce protobuf-c's rarer behaviour it does not
 * guess: it hands the model to the full loader (FERRY_ONNX_FAST_FALLBACK). That happens for
 * every wire-format error (so the diagnostics are the loader's, word for word), external
 * data (resolved and confined by the loader), a singular message field given twice or two
 * members of a oneof (protobuf-c merges or replaces them), a tensor with raw_data twice,
 * and lists whose elements are interleaved with other lists of the same kind.
 *
 * Hostile input gets the loader's bounds: every length within the bytes that remain, varints
 * of at most 10 bytes, wire types checked against onnx.proto's field types (generated
 * descriptors), message nesting at most FERRY_ONNX_MAX_DEPTH, input at most 2 GiB, and the
 * records within the loader's decode budget (FERRY_ONNX_DECODE_FACTOR x input +
 * FERRY_ONNX_DECODE_SLACK; past it the loader decides). The one difference: records are
 * smaller than protobuf-c's structs, so an expansion bomb the loader refuses ("decoding would
 * need more than N bytes of memory", e.g. 2 M empty nodes in 4 MiB) may fit the budget here
 * and be answered (each node then has no op_type).
 */
#ifndef FERRY_ONNX_FAST_H
#define FERRY_ONNX_FAST_H

#include "model/onnx_check.h"
#include "model/onnx_inspect.h"
#include "util/common.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ferry_onnx_fast_analyze: the bytes need the protobuf-c loader (see above). */
#define FERRY_ONNX_FAST_FALLBACK 1

/* Summarize (s non-NULL; sha256 of the bytes when with_sha256) and/or check (p non-NULL)
 * the model in data[0..len), named `name` in the summary. Returns 0 with *s / *p filled
 * (free them with ferry_onnx_summary_free / ferry_onnx_problems_free), or
 * FERRY_ONNX_FAST_FALLBACK with nothing filled. Never fails otherwise. */
int ferry_onnx_fast_analyze(const uint8_t *data, size_t len, const char *name, bool with_sha256,
                            ferry_onnx_summary_t *s, ferry_onnx_problems_t *p);

/* What `ferry inspect` / `ferry check` run: map the file (or take the buffer, borrowed,
 * base_dir as for ferry_onnx_load_buffer), try the fast reader, and fall back on the
 * read-only loader plus ferry_onnx_summarize / ferry_onnx_check. s and p as above; *used_fast
 * (may be NULL) says which path answered. Returns 0, or a negative code with err filled with
 * the loader's message (file, byte offset, field, expectation). */
int ferry_onnx_analyze_file(const char *path, bool with_sha256, ferry_onnx_summary_t *s, ferry_onnx_problems_t *p,
                            bool *used_fast, ferry_err_t *err);
int ferry_onnx_analyze_buffer(const void *data, size_t len, const char *base_dir, const char *name, bool with_sha256,
                              ferry_onnx_summary_t *s, ferry_onnx_problems_t *p, bool *used_fast, ferry_err_t *err);

#endif
