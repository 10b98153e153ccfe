/* onnx_wire.h -- facts of the protobuf wire format shared by the two ONNX readers: the
 * validating walk in front of protobuf-c (model/onnx.c) and the single-pass reader of
 * inspect/check (model/onnx_fast.c). Internal to model/. */
#ifndef FERRY_ONNX_WIRE_H
#define FERRY_ONNX_WIRE_H

#include <protobuf-c/protobuf-c.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A field tag is a varint of at most 5 bytes; protobuf-c refuses a longer (zero-padded)
 * one even when its value is in range, so both readers refuse it too. */
#define FERRY_ONNX_WIRE_MAX_TAG_BYTES 5

/* Field types carried as a varint (wire type 0). */
static inline bool ferry_onnx_wire_is_varint(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_INT32: case PROTOBUF_C_TYPE_SINT32: case PROTOBUF_C_TYPE_UINT32:
    case PROTOBUF_C_TYPE_INT64: case PROTOBUF_C_TYPE_SINT64: case PROTOBUF_C_TYPE_UINT64:
    case PROTOBUF_C_TYPE_BOOL: case PROTOBUF_C_TYPE_ENUM:
        return true;
    default:
        return false;
    }
}

/* Bytes of a fixed-width field type (wire types 5 and 1), 0 for every other type. */
static inline size_t ferry_onnx_wire_fixed_size(ProtobufCType t)
{
    switch (t) {
    case PROTOBUF_C_TYPE_FIXED32: case PROTOBUF_C_TYPE_SFIXED32: case PROTOBUF_C_TYPE_FLOAT:
        return 4;
    case PROTOBUF_C_TYPE_FIXED64: case PROTOBUF_C_TYPE_SFIXED64: case PROTOBUF_C_TYPE_DOUBLE:
        return 8;
    default:
        return 0;
    }
}

/* Write v as a varint (at most 10 bytes) to out; returns the bytes written. */
static inline size_t ferry_onnx_wire_put_varint(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

#endif
