/* engine_ops_shape.c -- operators that move data without arithmetic: Constant, Shape,
 * Reshape, Flatten, Squeeze/Unsqueeze, Transpose, Concat, Split, Slice, Gather,
 * GatherElements, Expand, Tile, Identity, Dropout (inference), Range, Size, ...
 *
 * Attribute-vs-input forms follow the opset the model imports: Reshape (shape as input
 * from opset 5), Squeeze/Unsqueeze/Split (axes/split as input from 13), Slice (inputs from
 * 10). Most copies go through s_strided_copy(), which reads any strided view of a tensor
 * (transposed, sliced, broadcast) into a contiguous output. */
#include "model/engine_impl.h"
#include "util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Copy element si of src to element di of dst (same type). */
static inline void s_copy_elem(ferry_tensor_t *dst, int64_t di, const ferry_tensor_t *src, int64_t si, size_t es)
{
    if (src->dtype == FERRY_DT_STRING) {
        const char *s = ((char *const *)src->data)[si];
        ferry_tensor_set_string(dst, di, s, s ? strlen(s) : 0);
    } else {
        memcpy((char *)dst->data + (size_t)di * es, (const char *)src->data + (size_t)si * es, es);
    }
}

/* dst (already shaped nd/dims, same type as src) [i...] = src[offset + sum(i_k * strides_k)] */
static void s_strided_copy(ferry_tensor_t *dst, const ferry_tensor_t *src, int nd, const int64_t *dims,
                           const int64_t *strides, int64_t offset)
{
    size_t es = ferry_dtype_size(src->dtype);
    int64_t total = 1;
    for (int i = 0; i < nd; i++)
        total *= dims[i];
    if (total == 0)
        return;
    int64_t idx[FERRY_TENSOR_MAX_DIMS] = {0}, off = offset;
    bool is_inner_contig = nd > 0 && strides[nd - 1] == 1 && src->dtype != FERRY_DT_STRING;
    int64_t inner = nd > 0 ? dims[nd - 1] : 1;
    if (is_inner_contig) {
        for (int64_t o = 0; o < total; o += inner) {
            memcpy((char *)dst->data + (size_t)o * es, (const char *)src->data + (size_t)off * es, (size_t)inner * es);
            for (int d = nd - 2; d >= 0; d--) {
                idx[d]++;
                off += strides[d];
                if (idx[d] < dims[d])
                    break;
                off -= strides[d] * dims[d];
                idx[d] = 0;
            }
        }
        return;
    }
    for (int64_t o = 0; o < total; o++) {
        s_copy_elem(dst, o, src, off, es);
        for (int d = nd - 1; d >= 0; d--) {
            idx[d]++;
            off += strides[d];
            if (idx[d] < dims[d])
                break;
            off -= strides[d] * dims[d];
            idx[d] = 0;
        }
    }
}

static void s_contig_strides(int nd, const int64_t *dims, int64_t *strides)
{
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        strides[i] = s;
        s *= dims[i];
    }
}

/* out = copy of x with a new shape (same element count checked by the caller) */
static int s_copy_reshaped(ferry_node_t *n, const ferry_tensor_t *x, int nd, const int64_t *dims, ferry_err_t *err)
{
    ferry_tensor_t *y = n->out[0];
    if (ferry_tensor_reshape(y, x->dtype, nd, dims, err) < 0)
        return -1;
    if (y->count != x->count)
        return ferry_op_fail(n, err, "cannot reshape %lld elements into %lld", (long long)x->count,
                             (long long)y->count);
    if (x->dtype == FERRY_DT_STRING) {
        for (int64_t i = 0; i < x->count; i++)
            s_copy_elem(y, i, x, i, 0);
    } else if (x->count) {
        memcpy(y->data, x->data, (size_t)x->count * ferry_dtype_size(x->dtype));
    }
    return 0;
}

/* ---- Constant, Identity, Dropout ------------------------------------------------------ */

static int s_prep_constant(ferry_node_t *n, ferry_err_t *err)
{
    ferry_tensor_t *y = n->out[0];
    const Onnx__AttributeProto *a = n->proto->n_attribute == 1 ? n->proto->attribute[0] : NULL;
    if (!a || !a->name)
        return ferry_op_fail(n, err, "needs exactly one value attribute");
    int64_t one = 1;
    ferry_err_t e2;
    if (!strcmp(a->name, "value") && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR && a->t) {
        if (ferry_tensor_from_proto(y, a->t, n->name, &e2) < 0) {
            ferry_op_fail(n, err, "%.600s", e2.msg);
            return ferry_dtype_is_supported(a->t->data_type) ? -1 : FERRY_ENGINE_EUNSUPPORTED;
        }
    } else if (!strcmp(a->name, "value_float") && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT) {
        if (ferry_tensor_reshape(y, FERRY_DT_FLOAT, 0, NULL, err) < 0)
            return -1;
        *(float *)y->data = a->f;
    } else if (!strcmp(a->name, "value_int") && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT) {
        if (ferry_tensor_reshape(y, FERRY_DT_INT64, 0, NULL, err) < 0)
            return -1;
        *(int64_t *)y->data = a->i;
    } else if (!strcmp(a->name, "value_floats") && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS) {
        one = (int64_t)a->n_floats;
        if (ferry_tensor_reshape(y, FERRY_DT_FLOAT, 1, &one, err) < 0)
            return -1;
        if (a->n_floats)
            memcpy(y->data, a->floats, a->n_floats * sizeof(float));
    } else if (!strcmp(a->name, "value_ints") && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS) {
        one = (int64_t)a->n_ints;
        if (ferry_tensor_reshape(y, FERRY_DT_INT64, 1, &one, err) < 0)
            return -1;
        if (a->n_ints)
            memcpy(y->data, a->ints, a->n_ints * sizeof(int64_t));
    } else if (!strcmp(a->name, "value_string") && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING) {
        if (ferry_tensor_reshape(y, FERRY_DT_STRING, 0, NULL, err) < 0)
            return -1;
        ferry_tensor_set_string(y, 0, (const char *)a->s.data, a->s.len);
    } else if (!strcmp(a->name, "value_strings") && a->type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS) {
        one = (int64_t)a->n_strings;
        if (ferry_tensor_reshape(y, FERRY_DT_STRING, 1, &one, err) < 0)
            return -1;
        for (size_t i = 0; i < a->n_strings; i++)
            ferry_tensor_set_string(y, (int64_t)i, (const char *)a->strings[i].data, a->strings[i].len);
    } else {
        ferry_op_fail(n, err, "value attribute '%.60s' of this type is not supported", a->name);
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    n->is_folded = true;
    return 0;
}

static int s_run_constant(ferry_node_t *n, ferry_err_t *err)
{
    return 0; /* folded at prepare */
}

static int s_run_identity(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = n->n_in > 0 ? n->in[0] : NULL;
    if (!x)
        return ferry_op_fail(n, err, "input 0 is required");
    return ferry_tensor_copy(n->out[0], x, err);
}

static int s_run_dropout(ferry_node_t *n, ferry_err_t *err)
{
    /* inference: output = input, mask = all true (training_mode must be false) */
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    if (n->opset >= 12 && n->n_in > 2 && n->in[2]) {
        const ferry_tensor_t *tm = n->in[2];
        if (tm->dtype != FERRY_DT_BOOL || tm->count != 1)
            return ferry_op_fail(n, err, "training_mode must be a bool scalar");
        if (((const uint8_t *)tm->data)[0])
            return ferry_op_fail(n, err, "training_mode=true (random dropout) is not supported");
    }
    if (ferry_tensor_copy(n->out[0], x, err) < 0)
        return -1;
    if (n->n_out > 1) {
        if (ferry_tensor_reshape_like(n->out[1], FERRY_DT_BOOL, x, err) < 0)
            return -1;
        memset(n->out[1]->data, 1, (size_t)x->count);
    }
    return 0;
}

static int s_prep_dropout(ferry_node_t *n, ferry_err_t *err)
{
    if (n->opset < 7 && ferry_attr_int(n, "is_test", 0) == 0) {
        ferry_op_fail(n, err, "training-mode Dropout (is_test=0) is not supported");
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    if (n->opset >= 12 && n->n_in > 2 && n->in[2]) {
        const ferry_tensor_t *tm = n->in[2];
        bool is_known_false = (n->const_inputs & 4) && tm->dtype == FERRY_DT_BOOL && tm->count == 1 &&
                              !((const uint8_t *)tm->data)[0];
        if (!is_known_false) {
            ferry_op_fail(n, err, "training_mode that may be true (random dropout) is not supported");
            return FERRY_ENGINE_EUNSUPPORTED;
        }
    }
    return 0;
}

/* ---- Shape, Size, ConstantOfShape ------------------------------------------------------- */

static int s_prep_shape(ferry_node_t *n, ferry_err_t *err)
{
    const Onnx__AttributeProto *s = ferry_attr(n, "start"), *e = ferry_attr(n, "end");
    n->ia[0] = ferry_attr_int(n, "start", 0);
    n->ia[1] = ferry_attr_int(n, "end", INT64_MAX);
    n->ia[2] = s != NULL;
    n->ia[3] = e != NULL;
    return 0;
}

static int s_run_shape(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    int64_t r = x->ndim, start = n->ia[0], end = n->ia[1];
    if (start < 0)
        start += r;
    if (end < 0)
        end += r;
    start = start < 0 ? 0 : start > r ? r : start;
    end = end < 0 ? 0 : end > r ? r : end;
    int64_t len = end > start ? end - start : 0;
    if (ferry_tensor_reshape(n->out[0], FERRY_DT_INT64, 1, &len, err) < 0)
        return -1;
    for (int64_t i = 0; i < len; i++)
        ((int64_t *)n->out[0]->data)[i] = x->dims[start + i];
    return 0;
}

static int s_run_size(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_tensor_reshape(n->out[0], FERRY_DT_INT64, 0, NULL, err) < 0)
        return -1;
    *(int64_t *)n->out[0]->data = x->count;
    return 0;
}

static int s_run_constant_of_shape(ferry_node_t *n, ferry_err_t *err)
{
    int64_t *shape = NULL, nd = 0;
    if (ferry_op_read_ints(n, 0, &shape, &nd, err) < 0)
        return -1;
    int rc = -1;
    const Onnx__TensorProto *vp = ferry_attr_tensor(n, "value");
    ferry_tensor_t val;
    ferry_tensor_init(&val);
    if (vp) {
        if (ferry_tensor_from_proto(&val, vp, "value", err) < 0)
            goto out;
        if (val.count != 1) {
            ferry_op_fail(n, err, "value must hold one element");
            goto out;
        }
    } else {
        if (ferry_tensor_reshape(&val, FERRY_DT_FLOAT, 0, NULL, err) < 0)
            goto out;
        *(float *)val.data = 0;
    }
    if (nd > FERRY_TENSOR_MAX_DIMS) {
        ferry_op_fail(n, err, "rank %lld exceeds the limit", (long long)nd);
        goto out;
    }
    if (ferry_tensor_reshape(n->out[0], val.dtype, (int)nd, shape, err) < 0) {
        ferry_op_fail(n, err, "%.600s", err->msg);
        goto out;
    }
    size_t es = ferry_dtype_size(val.dtype);
    for (int64_t i = 0; i < n->out[0]->count; i++)
        s_copy_elem(n->out[0], i, &val, 0, es);
    rc = 0;
out:
    ferry_tensor_clear(&val);
    free(shape);
    return rc;
}

/* ---- Reshape, Flatten, Squeeze, Unsqueeze ------------------------------------------------- */

static int s_run_reshape(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    int64_t *shape = NULL, nd = 0;
    if (n->opset < 5) {
        size_t cnt;
        const int64_t *s = ferry_attr_ints(n, "shape", &cnt);
        shape = ferry_malloc(sizeof(int64_t) * (cnt + 1));
        if (cnt)
            memcpy(shape, s, cnt * sizeof(int64_t));
        nd = (int64_t)cnt;
    } else if (ferry_op_read_ints(n, 1, &shape, &nd, err) < 0) {
        return -1;
    }
    int rc = -1;
    if (nd > FERRY_TENSOR_MAX_DIMS) {
        ferry_op_fail(n, err, "target rank %lld exceeds the limit", (long long)nd);
        goto out;
    }
    bool allow_zero = n->opset >= 14 && n->ia[0];
    int infer = -1;
    int64_t known = 1;
    for (int i = 0; i < nd; i++) {
        if (shape[i] == 0 && !allow_zero) {
            if (i >= x->ndim) {
                ferry_op_fail(n, err, "shape[%d] = 0 copies a dimension the input (rank %d) lacks", i, x->ndim);
                goto out;
            }
            shape[i] = x->dims[i];
        }
        if (shape[i] == -1) {
            if (infer >= 0) {
                ferry_op_fail(n, err, "more than one -1 in the target shape");
                goto out;
            }
            infer = i;
            continue;
        }
        if (shape[i] < 0) {
            ferry_op_fail(n, err, "invalid target dimension %lld", (long long)shape[i]);
            goto out;
        }
        if (shape[i] > 0 && known > FERRY_TENSOR_MAX_ELEMS / shape[i]) {
            ferry_op_fail(n, err, "target shape too large");
            goto out;
        }
        known *= shape[i];
    }
    if (infer >= 0) {
        if (known == 0 || x->count % known) {
            char s[200];
            ferry_op_fail(n, err, "cannot infer -1: input %s has %lld elements, not a multiple of %lld",
                          ferry_tensor_shape_str(x, s, sizeof(s)), (long long)x->count, (long long)known);
            goto out;
        }
        shape[infer] = x->count / known;
    }
    rc = s_copy_reshaped(n, x, (int)nd, shape, err);
out:
    free(shape);
    return rc;
}

static int s_prep_reshape(ferry_node_t *n, ferry_err_t *err)
{
    n->ia[0] = ferry_attr_int(n, "allowzero", 0);
    return 0;
}

static int s_prep_flatten(ferry_node_t *n, ferry_err_t *err)
{
    n->ia[0] = ferry_attr_int(n, "axis", 1);
    return 0;
}

static int s_run_flatten(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    int64_t axis = n->ia[0];
    if (axis < -(int64_t)x->ndim || axis > x->ndim)
        return ferry_op_fail(n, err, "axis %lld is out of range for rank %d", (long long)axis, x->ndim);
    if (axis < 0)
        axis += x->ndim;
    int64_t d[2] = {1, 1};
    for (int i = 0; i < x->ndim; i++)
        d[i < axis ? 0 : 1] *= x->dims[i];
    return s_copy_reshaped(n, x, 2, d, err);
}

/* axes of Squeeze/Unsqueeze: attribute before opset 13, optional input 1 after */
static int s_get_axes(ferry_node_t *n, int64_t **axes, int64_t *count, ferry_err_t *err)
{
    if (n->opset < 13) {
        size_t cnt;
        const int64_t *a = ferry_attr_ints(n, "axes", &cnt);
        *axes = ferry_malloc(sizeof(int64_t) * (cnt + 1));
        if (cnt)
            memcpy(*axes, a, cnt * sizeof(int64_t));
        *count = (int64_t)cnt;
        return 0;
    }
    if (n->n_in < 2 || !n->in[1]) {
        *axes = ferry_malloc(sizeof(int64_t));
        *count = 0;
        return 0;
    }
    return ferry_op_read_ints(n, 1, axes, count, err);
}

static int s_run_squeeze(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    int64_t *axes = NULL, na = 0;
    if (s_get_axes(n, &axes, &na, err) < 0)
        return -1;
    bool drop[FERRY_TENSOR_MAX_DIMS] = {false};
    int rc = -1;
    for (int64_t i = 0; i < na; i++) {
        int ax;
        if (ferry_op_axis(n, axes[i], x->ndim, &ax, err) < 0)
            goto out;
        if (x->dims[ax] != 1) {
            ferry_op_fail(n, err, "cannot squeeze axis %d of size %lld", ax, (long long)x->dims[ax]);
            goto out;
        }
        drop[ax] = true;
    }
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < x->ndim; i++)
        if (!(na ? drop[i] : x->dims[i] == 1))
            dims[nd++] = x->dims[i];
    rc = s_copy_reshaped(n, x, nd, dims, err);
out:
    free(axes);
    return rc;
}

static int s_run_unsqueeze(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    int64_t *axes = NULL, na = 0;
    if (s_get_axes(n, &axes, &na, err) < 0)
        return -1;
    int rc = -1;
    int64_t out_rank = x->ndim + na;
    bool add[FERRY_TENSOR_MAX_DIMS] = {false};
    if (out_rank > FERRY_TENSOR_MAX_DIMS) {
        ferry_op_fail(n, err, "output rank %lld exceeds the limit", (long long)out_rank);
        goto out;
    }
    for (int64_t i = 0; i < na; i++) {
        int ax;
        if (ferry_op_axis(n, axes[i], (int)out_rank, &ax, err) < 0)
            goto out;
        if (add[ax]) {
            ferry_op_fail(n, err, "axis %d repeated", ax);
            goto out;
        }
        add[ax] = true;
    }
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    for (int i = 0, k = 0; i < out_rank; i++)
        dims[i] = add[i] ? 1 : x->dims[k++];
    rc = s_copy_reshaped(n, x, (int)out_rank, dims, err);
out:
    free(axes);
    return rc;
}

/* ---- Transpose ------------------------------------------------------------------------------ */

static int s_run_transpose(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    size_t np;
    const int64_t *perm = ferry_attr_ints(n, "perm", &np);
    int nd = x->ndim;
    int p[FERRY_TENSOR_MAX_DIMS];
    bool used[FERRY_TENSOR_MAX_DIMS] = {false};
    if (perm && (int)np != nd)
        return ferry_op_fail(n, err, "perm has %zu entries, input rank is %d", np, nd);
    for (int i = 0; i < nd; i++) {
        int64_t v = perm ? perm[i] : nd - 1 - i;
        if (v < 0 || v >= nd || used[v])
            return ferry_op_fail(n, err, "perm is not a permutation of 0..%d", nd - 1);
        used[v] = true;
        p[i] = (int)v;
    }
    int64_t in_strides[FERRY_TENSOR_MAX_DIMS], dims[FERRY_TENSOR_MAX_DIMS], strides[FERRY_TENSOR_MAX_DIMS];
    s_contig_strides(nd, x->dims, in_strides);
    for (int i = 0; i < nd; i++) {
        dims[i] = x->dims[p[i]];
        strides[i] = in_strides[p[i]];
    }
    if (ferry_tensor_reshape(n->out[0], x->dtype, nd, dims, err) < 0)
        return -1;
    s_strided_copy(n->out[0], x, nd, dims, strides, 0);
    return 0;
}

/* ---- Concat, Split ---------------------------------------------------------------------- */

static int s_run_concat(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *first = ferry_op_input(n, 0, err);
    if (!first)
        return -1;
    int axis;
    if (ferry_op_axis(n, ferry_attr_int(n, "axis", n->opset < 4 ? 1 : 0), first->ndim, &axis, err) < 0)
        return -1;
    if (first->ndim == 0)
        return ferry_op_fail(n, err, "cannot concatenate scalars");
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    memcpy(dims, first->dims, sizeof(int64_t) * (size_t)first->ndim);
    dims[axis] = 0;
    for (int k = 0; k < n->n_in; k++) {
        const ferry_tensor_t *t = ferry_op_input(n, k, err);
        if (!t)
            return -1;
        if (t->dtype != first->dtype || t->ndim != first->ndim)
            return ferry_op_fail(n, err, "input %d has type %s rank %d, input 0 has %s rank %d", k,
                                 ferry_dtype_name(t->dtype), t->ndim, ferry_dtype_name(first->dtype), first->ndim);
        for (int d = 0; d < t->ndim; d++)
            if (d != axis && t->dims[d] != first->dims[d])
                return ferry_op_fail(n, err, "input %d: dimension %d is %lld, input 0 has %lld", k, d,
                                     (long long)t->dims[d], (long long)first->dims[d]);
        dims[axis] += t->dims[axis];
    }
    ferry_tensor_t *y = n->out[0];
    if (ferry_tensor_reshape(y, first->dtype, first->ndim, dims, err) < 0)
        return -1;
    int64_t outer = 1, inner = 1;
    for (int d = 0; d < axis; d++)
        outer *= dims[d];
    for (int d = axis + 1; d < first->ndim; d++)
        inner *= dims[d];
    size_t es = ferry_dtype_size(first->dtype);
    int64_t row = dims[axis] * inner, off = 0;
    for (int k = 0; k < n->n_in; k++) {
        const ferry_tensor_t *t = n->in[k];
        int64_t chunk = t->dims[axis] * inner;
        if (chunk == 1 && (es == 8 || es == 4) && t->dtype != FERRY_DT_STRING) {
            /* one element per row (columns joined into a matrix): a strided copy, not a
             * memcpy call per element */
            if (es == 8) {
                const uint64_t *src = t->data;
                uint64_t *dst = (uint64_t *)y->data + off;
                for (int64_t o = 0; o < outer; o++)
                    dst[o * row] = src[o];
            } else {
                const uint32_t *src = t->data;
                uint32_t *dst = (uint32_t *)y->data + off;
                for (int64_t o = 0; o < outer; o++)
                    dst[o * row] = src[o];
            }
            off += chunk;
            continue;
        }
        for (int64_t o = 0; o < outer; o++) {
            if (t->dtype == FERRY_DT_STRING) {
                for (int64_t j = 0; j < chunk; j++)
                    s_copy_elem(y, o * row + off + j, t, o * chunk + j, es);
            } else if (chunk) {
                memcpy((char *)y->data + (size_t)(o * row + off) * es, (const char *)t->data + (size_t)(o * chunk) * es,
                       (size_t)chunk * es);
            }
        }
        off += chunk;
    }
    return 0;
}

static int s_run_split(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    int axis;
    if (ferry_op_axis(n, ferry_attr_int(n, "axis", 0), x->ndim, &axis, err) < 0)
        return -1;
    int64_t *split = NULL, ns = 0;
    if (n->opset >= 13 && n->n_in > 1 && n->in[1]) {
        if (ferry_op_read_ints(n, 1, &split, &ns, err) < 0)
            return -1;
    } else if (n->opset < 13) {
        size_t cnt;
        const int64_t *s = n->opset >= 2 ? ferry_attr_ints(n, "split", &cnt) : NULL;
        if (n->opset < 2)
            cnt = 0;
        split = ferry_malloc(sizeof(int64_t) * (cnt + 1));
        if (cnt)
            memcpy(split, s, cnt * sizeof(int64_t));
        ns = (int64_t)cnt;
    }
    int rc = -1;
    int64_t total = x->dims[axis];
    if (ns == 0) {
        free(split);
        split = ferry_malloc(sizeof(int64_t) * (size_t)(n->n_out + 1));
        if (total % n->n_out) {
            ferry_op_fail(n, err, "axis %d of size %lld cannot be split evenly into %d", axis, (long long)total,
                          n->n_out);
            goto out;
        }
        for (int i = 0; i < n->n_out; i++)
            split[i] = total / n->n_out;
        ns = n->n_out;
    }
    if (ns != n->n_out) {
        ferry_op_fail(n, err, "split has %lld entries for %d outputs", (long long)ns, n->n_out);
        goto out;
    }
    int64_t sum = 0;
    for (int i = 0; i < ns; i++) {
        if (split[i] < 0) {
            ferry_op_fail(n, err, "negative split size");
            goto out;
        }
        sum += split[i];
    }
    if (sum != total) {
        ferry_op_fail(n, err, "split sizes add up to %lld, axis %d has %lld", (long long)sum, axis, (long long)total);
        goto out;
    }
    int64_t strides[FERRY_TENSOR_MAX_DIMS], dims[FERRY_TENSOR_MAX_DIMS];
    s_contig_strides(x->ndim, x->dims, strides);
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    int64_t start = 0;
    for (int i = 0; i < n->n_out; i++) {
        dims[axis] = split[i];
        if (ferry_tensor_reshape(n->out[i], x->dtype, x->ndim, dims, err) < 0)
            goto out;
        s_strided_copy(n->out[i], x, x->ndim, dims, strides, start * strides[axis]);
        start += split[i];
    }
    rc = 0;
out:
    free(split);
    return rc;
}

/* ---- Slice -------------------------------------------------------------------------------- */

static int s_run_slice(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    int64_t *starts = NULL, *ends = NULL, *axes = NULL, *steps = NULL, ns = 0, ne = 0, na = -1, nst = -1;
    int rc = -1;
    if (n->opset < 10) {
        size_t cs, ce, ca;
        const int64_t *s = ferry_attr_ints(n, "starts", &cs), *e = ferry_attr_ints(n, "ends", &ce),
                      *a = ferry_attr_ints(n, "axes", &ca);
        starts = ferry_malloc(sizeof(int64_t) * (cs + 1));
        ends = ferry_malloc(sizeof(int64_t) * (ce + 1));
        if (cs)
            memcpy(starts, s, cs * 8);
        if (ce)
            memcpy(ends, e, ce * 8);
        ns = (int64_t)cs;
        ne = (int64_t)ce;
        if (a) {
            axes = ferry_malloc(sizeof(int64_t) * (ca + 1));
            if (ca)
                memcpy(axes, a, ca * 8);
            na = (int64_t)ca;
        }
    } else {
        if (ferry_op_read_ints(n, 1, &starts, &ns, err) < 0 || ferry_op_read_ints(n, 2, &ends, &ne, err) < 0)
            goto out;
        if (n->n_in > 3 && n->in[3] && ferry_op_read_ints(n, 3, &axes, &na, err) < 0)
            goto out;
        if (n->n_in > 4 && n->in[4] && ferry_op_read_ints(n, 4, &steps, &nst, err) < 0)
            goto out;
    }
    if (ns != ne || (na >= 0 && na != ns) || (nst >= 0 && nst != ns)) {
        ferry_op_fail(n, err, "starts, ends, axes and steps must have the same length");
        goto out;
    }
    int nd = x->ndim;
    int64_t st[FERRY_TENSOR_MAX_DIMS], dims[FERRY_TENSOR_MAX_DIMS], step[FERRY_TENSOR_MAX_DIMS];
    bool seen[FERRY_TENSOR_MAX_DIMS] = {false};
    for (int d = 0; d < nd; d++) {
        st[d] = 0;
        dims[d] = x->dims[d];
        step[d] = 1;
    }
    for (int64_t i = 0; i < ns; i++) {
        int ax;
        if (ferry_op_axis(n, axes ? axes[i] : i, nd, &ax, err) < 0)
            goto out;
        if (seen[ax]) {
            ferry_op_fail(n, err, "axis %d repeated", ax);
            goto out;
        }
        seen[ax] = true;
        int64_t dim = x->dims[ax], s = starts[i], e = ends[i], k = steps ? steps[i] : 1;
        if (k == 0) {
            ferry_op_fail(n, err, "step 0");
            goto out;
        }
        if (s < 0)
            s += dim;
        if (e < 0 && e > INT64_MIN + dim)
            e += dim;
        else if (e < 0)
            e = -1;
        if (k > 0) {
            s = s < 0 ? 0 : s > dim ? dim : s;
            e = e < 0 ? 0 : e > dim ? dim : e;
            dims[ax] = e > s ? (int64_t)((uint64_t)(e - s - 1) / (uint64_t)k) + 1 : 0;
        } else {
            s = s < 0 ? -1 : s > dim - 1 ? dim - 1 : s;
            e = e < -1 ? -1 : e > dim - 1 ? dim - 1 : e;
            /* |k| as unsigned: -k overflows for INT64_MIN */
            dims[ax] = s > e ? (int64_t)((uint64_t)(s - e - 1) / (0 - (uint64_t)k)) + 1 : 0;
        }
        st[ax] = s;
        step[ax] = k;
    }
    int64_t in_strides[FERRY_TENSOR_MAX_DIMS], strides[FERRY_TENSOR_MAX_DIMS], off = 0;
    s_contig_strides(nd, x->dims, in_strides);
    for (int d = 0; d < nd; d++) {
        /* an axis of one element never steps (its step may be any int64); with two or more,
         * |step| < dim, so the stride stays within the tensor's size */
        strides[d] = dims[d] > 1 ? in_strides[d] * step[d] : 0;
        if (dims[d] > 0)
            off += st[d] * in_strides[d];
    }
    if (ferry_tensor_reshape(n->out[0], x->dtype, nd, dims, err) < 0)
        goto out;
    s_strided_copy(n->out[0], x, nd, dims, strides, off);
    rc = 0;
out:
    free(starts);
    free(ends);
    free(axes);
    free(steps);
    return rc;
}

/* ---- Gather, GatherElements ----------------------------------------------------------------- */

static int s_run_gather(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err), *ind = x ? ferry_op_input(n, 1, err) : NULL;
    if (!ind || ferry_op_check_type(n, 1, FERRY_DTM(FERRY_DT_INT64) | FERRY_DTM(FERRY_DT_INT32), err) < 0)
        return -1;
    int axis;
    if (x->ndim == 0)
        return ferry_op_fail(n, err, "data must have rank >= 1");
    if (ferry_op_axis(n, ferry_attr_int(n, "axis", 0), x->ndim, &axis, err) < 0)
        return -1;
    int out_nd = x->ndim - 1 + ind->ndim;
    if (out_nd > FERRY_TENSOR_MAX_DIMS)
        return ferry_op_fail(n, err, "output rank %d exceeds the limit", out_nd);
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    int k = 0;
    for (int d = 0; d < axis; d++)
        dims[k++] = x->dims[d];
    for (int d = 0; d < ind->ndim; d++)
        dims[k++] = ind->dims[d];
    for (int d = axis + 1; d < x->ndim; d++)
        dims[k++] = x->dims[d];
    if (ferry_tensor_reshape(n->out[0], x->dtype, out_nd, dims, err) < 0)
        return -1;
    int64_t outer = 1, inner = 1, ax = x->dims[axis];
    for (int d = 0; d < axis; d++)
        outer *= x->dims[d];
    for (int d = axis + 1; d < x->ndim; d++)
        inner *= x->dims[d];
    size_t es = ferry_dtype_size(x->dtype);
    ferry_tensor_t *y = n->out[0];
    for (int64_t i = 0; i < ind->count; i++) {
        int64_t j = ind->dtype == FERRY_DT_INT64 ? ((const int64_t *)ind->data)[i] : ferry_tensor_get_i64(ind, i);
        if (j < -ax || j >= ax)
            return ferry_op_fail(n, err, "index %lld is out of range for axis %d of size %lld", (long long)j, axis,
                                 (long long)ax);
    }
    if (ind->dtype == FERRY_DT_INT64 && x->dtype != FERRY_DT_STRING && es == 8 && (inner == 1 || inner == 2)) {
        /* a lookup table read per index (a forest's leaf values): whole-element copies,
         * not a memcpy call per index */
        const int64_t *iv = ind->data;
        const uint64_t *src = x->data;
        uint64_t *dst = y->data;
        for (int64_t o = 0; o < outer; o++)
            for (int64_t i = 0; i < ind->count; i++) {
                int64_t j = iv[i] < 0 ? iv[i] + ax : iv[i];
                const uint64_t *from = src + (o * ax + j) * inner;
                uint64_t *to = dst + (o * ind->count + i) * inner;
                to[0] = from[0];
                if (inner == 2)
                    to[1] = from[1];
            }
        return 0;
    }
    for (int64_t o = 0; o < outer; o++)
        for (int64_t i = 0; i < ind->count; i++) {
            int64_t j = ferry_tensor_get_i64(ind, i);
            if (j < 0)
                j += ax;
            int64_t src = (o * ax + j) * inner, dst = (o * ind->count + i) * inner;
            if (x->dtype == FERRY_DT_STRING) {
                for (int64_t q = 0; q < inner; q++)
                    s_copy_elem(y, dst + q, x, src + q, es);
            } else if (inner) {
                memcpy((char *)y->data + (size_t)dst * es, (const char *)x->data + (size_t)src * es, (size_t)inner * es);
            }
        }
    return 0;
}

static int s_run_gather_elements(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err), *ind = x ? ferry_op_input(n, 1, err) : NULL;
    if (!ind || ferry_op_check_type(n, 1, FERRY_DTM(FERRY_DT_INT64) | FERRY_DTM(FERRY_DT_INT32), err) < 0)
        return -1;
    int axis;
    if (ferry_op_axis(n, ferry_attr_int(n, "axis", 0), x->ndim, &axis, err) < 0)
        return -1;
    if (ind->ndim != x->ndim)
        return ferry_op_fail(n, err, "indices rank %d differs from data rank %d", ind->ndim, x->ndim);
    if (ferry_tensor_reshape_like(n->out[0], x->dtype, ind, err) < 0)
        return -1;
    int64_t xs[FERRY_TENSOR_MAX_DIMS], idx[FERRY_TENSOR_MAX_DIMS] = {0};
    s_contig_strides(x->ndim, x->dims, xs);
    size_t es = ferry_dtype_size(x->dtype);
    for (int64_t i = 0; i < ind->count; i++) {
        int64_t j = ferry_tensor_get_i64(ind, i), ax = x->dims[axis];
        if (j < -ax || j >= ax)
            return ferry_op_fail(n, err, "index %lld is out of range for axis %d of size %lld", (long long)j, axis,
                                 (long long)ax);
        if (j < 0)
            j += ax;
        int64_t off = 0;
        for (int d = 0; d < x->ndim; d++) {
            int64_t c = d == axis ? j : idx[d];
            if (c >= x->dims[d])
                return ferry_op_fail(n, err, "indices shape exceeds data shape on axis %d", d);
            off += c * xs[d];
        }
        s_copy_elem(n->out[0], i, x, off, es);
        for (int d = x->ndim - 1; d >= 0; d--) {
            if (++idx[d] < ind->dims[d])
                break;
            idx[d] = 0;
        }
    }
    return 0;
}

/* ---- Expand, Tile --------------------------------------------------------------------------- */

static int s_run_expand(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    int64_t *shape = NULL, ns = 0;
    if (!x || ferry_op_read_ints(n, 1, &shape, &ns, err) < 0)
        return -1;
    int rc = -1, nd;
    int64_t dims[FERRY_TENSOR_MAX_DIMS], strides[FERRY_TENSOR_MAX_DIMS];
    if (ns > FERRY_TENSOR_MAX_DIMS) {
        ferry_op_fail(n, err, "shape rank %lld exceeds the limit", (long long)ns);
        goto out;
    }
    for (int64_t i = 0; i < ns; i++)
        if (shape[i] < 0) {
            ferry_op_fail(n, err, "negative dimension in shape");
            goto out;
        }
    if (ferry_broadcast_shape(n, x->ndim, x->dims, (int)ns, shape, &nd, dims, err) < 0)
        goto out;
    if (ferry_tensor_reshape(n->out[0], x->dtype, nd, dims, err) < 0)
        goto out;
    ferry_broadcast_strides(x, nd, dims, strides);
    s_strided_copy(n->out[0], x, nd, dims, strides, 0);
    rc = 0;
out:
    free(shape);
    return rc;
}

static int s_run_tile(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    int64_t *rep = NULL, nr = 0;
    if (!x || ferry_op_read_ints(n, 1, &rep, &nr, err) < 0)
        return -1;
    int rc = -1;
    int64_t dims[FERRY_TENSOR_MAX_DIMS], xs[FERRY_TENSOR_MAX_DIMS], idx[FERRY_TENSOR_MAX_DIMS] = {0};
    if (nr != x->ndim) {
        ferry_op_fail(n, err, "repeats has %lld entries, input rank is %d", (long long)nr, x->ndim);
        goto out;
    }
    for (int d = 0; d < x->ndim; d++) {
        if (rep[d] < 0 || (rep[d] > 0 && x->dims[d] > FERRY_TENSOR_MAX_ELEMS / rep[d])) {
            ferry_op_fail(n, err, "invalid repeat %lld", (long long)rep[d]);
            goto out;
        }
        dims[d] = x->dims[d] * rep[d];
    }
    if (ferry_tensor_reshape(n->out[0], x->dtype, x->ndim, dims, err) < 0)
        goto out;
    s_contig_strides(x->ndim, x->dims, xs);
    size_t es = ferry_dtype_size(x->dtype);
    for (int64_t i = 0; i < n->out[0]->count; i++) {
        int64_t off = 0;
        for (int d = 0; d < x->ndim; d++)
            off += (idx[d] % x->dims[d]) * xs[d];
        s_copy_elem(n->out[0], i, x, off, es);
        for (int d = x->ndim - 1; d >= 0; d--) {
            if (++idx[d] < dims[d])
                break;
            idx[d] = 0;
        }
    }
    rc = 0;
out:
    free(rep);
    return rc;
}

/* ---- Range, EyeLike, Trilu, CumSum ------------------------------------------------------------ */

static int s_run_range(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *s = ferry_op_input(n, 0, err), *l = s ? ferry_op_input(n, 1, err) : NULL,
                         *d = l ? ferry_op_input(n, 2, err) : NULL;
    if (!d)
        return -1;
    uint32_t ok = FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE) | FERRY_DTM(FERRY_DT_INT16) |
                  FERRY_DTM(FERRY_DT_INT32) | FERRY_DTM(FERRY_DT_INT64);
    if (ferry_op_check_type(n, 0, ok, err) < 0)
        return -1;
    if (s->dtype != l->dtype || s->dtype != d->dtype || s->count != 1 || l->count != 1 || d->count != 1)
        return ferry_op_fail(n, err, "start, limit and delta must be scalars of one type");
    bool is_float = s->dtype == FERRY_DT_FLOAT || s->dtype == FERRY_DT_DOUBLE;
    int64_t count;
    if (is_float) {
        double a = ferry_tensor_get_f64(s, 0), b = ferry_tensor_get_f64(l, 0), c = ferry_tensor_get_f64(d, 0);
        double q = ceil((b - a) / c);
        if (!(q < (double)FERRY_TENSOR_MAX_ELEMS))
            return ferry_op_fail(n, err, "range too long");
        count = q > 0 ? (int64_t)q : 0;
    } else {
        int64_t a = ferry_tensor_get_i64(s, 0), b = ferry_tensor_get_i64(l, 0), c = ferry_tensor_get_i64(d, 0);
        if (c == 0)
            return ferry_op_fail(n, err, "delta is 0");
        double q = ceil(((double)b - (double)a) / (double)c);
        if (!(q < (double)FERRY_TENSOR_MAX_ELEMS))
            return ferry_op_fail(n, err, "range too long");
        count = q > 0 ? (int64_t)q : 0;
    }
    if (ferry_tensor_reshape(n->out[0], s->dtype, 1, &count, err) < 0)
        return -1;
    for (int64_t i = 0; i < count; i++) {
        if (is_float) {
            /* numpy arange semantics: start + i * delta, in the tensor's own type */
            if (s->dtype == FERRY_DT_FLOAT)
                ((float *)n->out[0]->data)[i] = *(float *)s->data + (float)i * *(float *)d->data;
            else
                ((double *)n->out[0]->data)[i] = *(double *)s->data + (double)i * *(double *)d->data;
        } else {
            int64_t v = ferry_tensor_get_i64(s, 0) + i * ferry_tensor_get_i64(d, 0);
            ferry_convert_elems((char *)n->out[0]->data + i * (int64_t)ferry_dtype_size(s->dtype), s->dtype, &v,
                                FERRY_DT_INT64, 1);
        }
    }
    return 0;
}

static int s_run_eyelike(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM_NUMERIC | FERRY_DTM(FERRY_DT_BOOL), err) < 0)
        return -1;
    if (x->ndim != 2)
        return ferry_op_fail(n, err, "input must be 2-D");
    int32_t dt = (int32_t)ferry_attr_int(n, "dtype", x->dtype);
    int64_t k = ferry_attr_int(n, "k", 0);
    if (!ferry_dtype_is_supported(dt) || dt == FERRY_DT_STRING)
        return ferry_op_fail(n, err, "dtype %d not supported", dt);
    if (ferry_tensor_reshape_like(n->out[0], dt, x, err) < 0)
        return -1;
    memset(n->out[0]->data, 0, (size_t)x->count * ferry_dtype_size(dt));
    double one = 1;
    for (int64_t i = 0; i < x->dims[0]; i++) {
        int64_t j = i + k;
        if (j >= 0 && j < x->dims[1])
            ferry_convert_elems((char *)n->out[0]->data + (i * x->dims[1] + j) * (int64_t)ferry_dtype_size(dt), dt,
                                &one, FERRY_DT_DOUBLE, 1);
    }
    return 0;
}

static int s_run_trilu(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x)
        return -1;
    if (x->ndim < 2)
        return ferry_op_fail(n, err, "input must have rank >= 2");
    int64_t k = 0;
    if (n->n_in > 1 && n->in[1]) {
        if (n->in[1]->dtype != FERRY_DT_INT64 || n->in[1]->count != 1)
            return ferry_op_fail(n, err, "k must be an int64 scalar");
        k = *(const int64_t *)n->in[1]->data;
    }
    bool is_upper = ferry_attr_int(n, "upper", 1) != 0;
    if (ferry_tensor_copy(n->out[0], x, err) < 0)
        return -1;
    int64_t r = x->dims[x->ndim - 2], c = x->dims[x->ndim - 1];
    size_t es = ferry_dtype_size(x->dtype);
    if (x->dtype == FERRY_DT_STRING)
        return ferry_op_fail(n, err, "string input not supported");
    for (int64_t b = 0; r > 0 && c > 0 && b < x->count / (r * c); b++)
        for (int64_t i = 0; i < r; i++)
            for (int64_t j = 0; j < c; j++) {
                bool keep = is_upper ? j - i >= k : j - i <= k;
                if (!keep)
                    memset((char *)n->out[0]->data + (size_t)((b * r + i) * c + j) * es, 0, es);
            }
    return 0;
}

static int s_run_cumsum(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err), *a = x ? ferry_op_input(n, 1, err) : NULL;
    if (!a || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE) |
                                            FERRY_DTM(FERRY_DT_INT32) | FERRY_DTM(FERRY_DT_INT64) |
                                            FERRY_DTM(FERRY_DT_UINT32) | FERRY_DTM(FERRY_DT_UINT64), err) < 0)
        return -1;
    if (a->count != 1 || (a->dtype != FERRY_DT_INT64 && a->dtype != FERRY_DT_INT32))
        return ferry_op_fail(n, err, "axis must be an integer scalar");
    int axis;
    if (ferry_op_axis(n, ferry_tensor_get_i64(a, 0), x->ndim, &axis, err) < 0)
        return -1;
    bool is_excl = ferry_attr_int(n, "exclusive", 0) != 0, is_rev = ferry_attr_int(n, "reverse", 0) != 0;
    if (ferry_tensor_reshape_like(n->out[0], x->dtype, x, err) < 0)
        return -1;
    int64_t outer = 1, inner = 1, len = x->dims[axis];
    for (int d = 0; d < axis; d++)
        outer *= x->dims[d];
    for (int d = axis + 1; d < x->ndim; d++)
        inner *= x->dims[d];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t q = 0; q < inner; q++) {
            double accf = 0;
            int64_t acci = 0;
            for (int64_t t = 0; t < len; t++) {
                int64_t j = is_rev ? len - 1 - t : t;
                int64_t idx = (o * len + j) * inner + q;
                double vf = ferry_tensor_get_f64(x, idx);
                int64_t vi = ferry_tensor_get_i64(x, idx);
                if (is_excl) {
                    if (x->dtype == FERRY_DT_FLOAT) ((float *)n->out[0]->data)[idx] = (float)accf;
                    else if (x->dtype == FERRY_DT_DOUBLE) ((double *)n->out[0]->data)[idx] = accf;
                    else ferry_convert_elems((char *)n->out[0]->data + idx * (int64_t)ferry_dtype_size(x->dtype), x->dtype, &acci, FERRY_DT_INT64, 1);
                }
                accf += vf;
                acci = (int64_t)((uint64_t)acci + (uint64_t)vi);
                if (!is_excl) {
                    if (x->dtype == FERRY_DT_FLOAT) ((float *)n->out[0]->data)[idx] = (float)accf;
                    else if (x->dtype == FERRY_DT_DOUBLE) ((double *)n->out[0]->data)[idx] = accf;
                    else ferry_convert_elems((char *)n->out[0]->data + idx * (int64_t)ferry_dtype_size(x->dtype), x->dtype, &acci, FERRY_DT_INT64, 1);
                }
            }
        }
    return 0;
}

const ferry_op_def_t ferry_engine_ops_shape[] = {
    {"", "Constant", 1, s_prep_constant, s_run_constant},
    {"", "Identity", 1, NULL, s_run_identity},
    {"", "Dropout", 1, s_prep_dropout, s_run_dropout},
    {"", "Shape", 1, s_prep_shape, s_run_shape},
    {"", "Size", 1, NULL, s_run_size},
    {"", "ConstantOfShape", 9, NULL, s_run_constant_of_shape},
    {"", "Reshape", 1, s_prep_reshape, s_run_reshape},
    {"", "Flatten", 1, s_prep_flatten, s_run_flatten},
    {"", "Squeeze", 1, NULL, s_run_squeeze},
    {"", "Unsqueeze", 1, NULL, s_run_unsqueeze},
    {"", "Transpose", 1, NULL, s_run_transpose},
    {"", "Concat", 1, NULL, s_run_concat},
    {"", "Split", 1, NULL, s_run_split},
    {"", "Slice", 1, NULL, s_run_slice},
    {"", "Gather", 1, NULL, s_run_gather},
    {"", "GatherElements", 11, NULL, s_run_gather_elements},
    {"", "Expand", 8, NULL, s_run_expand},
    {"", "Tile", 6, NULL, s_run_tile},
    {"", "Range", 11, NULL, s_run_range},
    {"", "EyeLike", 9, NULL, s_run_eyelike},
    {"", "Trilu", 14, NULL, s_run_trilu},
    {"", "CumSum", 11, NULL, s_run_cumsum},
    {NULL, NULL, 0, NULL, NULL},
};
