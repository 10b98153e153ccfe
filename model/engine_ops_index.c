/* engine_ops_index.c -- index-driven and rearranging operators of ferry's engine: OneHot,
 * TopK, NonZero, Compress, GatherND, ScatterElements, ScatterND, Pad, DepthToSpace,
 * SpaceToDepth, GlobalAveragePool/GlobalMaxPool, InstanceNormalization, StringNormalizer.
 * Every index read from a tensor is range-checked before use (hostile models). */
#include "model/engine_impl.h"
#include "util/mem.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void s_strides(int nd, const int64_t *dims, int64_t *st)
{
    int64_t s = 1;
    for (int i = nd - 1; i >= 0; i--) {
        st[i] = s;
        s *= dims[i];
    }
}

static inline void s_copy1(ferry_tensor_t *dst, int64_t di, const ferry_tensor_t *src, int64_t si, size_t es)
{
    if (src->dtype == FERRY_DT_STRING) {
        const char *s = ((char *const *)src->data)[si];
        ferry_tensor_set_string(dst, di, s, s ? strlen(s) : 0);
    } else {
        memcpy((char *)dst->data + (size_t)di * es, (const char *)src->data + (size_t)si * es, es);
    }
}

/* ---- OneHot --------------------------------------------------------------------------- */

static int s_run_onehot(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *ind = ferry_op_input(n, 0, err), *depth = ind ? ferry_op_input(n, 1, err) : NULL,
                         *values = depth ? ferry_op_input(n, 2, err) : NULL;
    if (!values || ferry_op_check_type(n, 0, FERRY_DTM_NUMERIC, err) < 0 ||
        ferry_op_check_type(n, 1, FERRY_DTM_NUMERIC, err) < 0)
        return -1;
    if (depth->count != 1 || values->count != 2 || values->ndim != 1)
        return ferry_op_fail(n, err, "depth must be a scalar and values a 2-element vector");
    double dv = ferry_tensor_get_f64(depth, 0);
    if (!(dv >= 1 && dv <= (double)FERRY_TENSOR_MAX_ELEMS))
        return ferry_op_fail(n, err, "depth %g is invalid", dv);
    int64_t D = (int64_t)dv;
    int out_nd = ind->ndim + 1, ax;
    if (out_nd > FERRY_TENSOR_MAX_DIMS)
        return ferry_op_fail(n, err, "output rank too large");
    if (ferry_op_axis(n, ferry_attr_int(n, "axis", -1), out_nd, &ax, err) < 0)
        return -1;
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    for (int i = 0, k = 0; i < out_nd; i++)
        dims[i] = i == ax ? D : ind->dims[k++];
    ferry_tensor_t *y = n->out[0];
    if (ferry_tensor_reshape(y, values->dtype, out_nd, dims, err) < 0)
        return -1;
    size_t es = ferry_dtype_size(values->dtype);
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < ax; i++)
        outer *= dims[i];
    for (int i = ax + 1; i < out_nd; i++)
        inner *= dims[i];
    for (int64_t o = 0; o < outer; o++)
        for (int64_t d = 0; d < D; d++)
            for (int64_t q = 0; q < inner; q++) {
                double iv = ferry_tensor_get_f64(ind, o * inner + q);
                int64_t k = iv > -1e18 && iv < 1e18 ? (int64_t)(iv < 0 ? iv + (double)D : iv) : -1;
                s_copy1(y, (o * D + d) * inner + q, values, k == d ? 1 : 0, es);
            }
    return 0;
}

/* ---- TopK ------------------------------------------------------------------------------- */

typedef struct {
    double v;
    int64_t i;
} s_vi_t;

/* NaN ranks above every number (as numpy sorts it last): a total order for qsort */
static int s_cmp_largest(const void *a, const void *b)
{
    const s_vi_t *x = a, *y = b;
    if (isnan(x->v) != isnan(y->v))
        return isnan(x->v) ? -1 : 1;
    if (x->v != y->v && !isnan(x->v))
        return x->v > y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int s_cmp_smallest(const void *a, const void *b)
{
    const s_vi_t *x = a, *y = b;
    if (isnan(x->v) != isnan(y->v))
        return isnan(x->v) ? 1 : -1;
    if (x->v != y->v && !isnan(x->v))
        return x->v < y->v ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

static int s_run_topk(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM_NUMERIC, err) < 0)
        return -1;
    int64_t k;
    if (n->opset < 10) {
        k = ferry_attr_int(n, "k", -1);
    } else {
        const ferry_tensor_t *kt = ferry_op_input(n, 1, err);
        if (!kt || kt->count != 1 || (kt->dtype != FERRY_DT_INT64))
            return ferry_op_fail(n, err, "K must be a 1-element int64 tensor");
        k = ((const int64_t *)kt->data)[0];
    }
    int ax;
    if (x->ndim == 0 || ferry_op_axis(n, ferry_attr_int(n, "axis", -1), x->ndim, &ax, err) < 0)
        return x->ndim == 0 ? ferry_op_fail(n, err, "input must have rank >= 1") : -1;
    /* sorted=0 leaves the order to the implementation: sorted output is one valid answer */
    bool is_largest = ferry_attr_int(n, "largest", 1) != 0;
    int64_t len = x->dims[ax];
    if (k < 0 || k > len)
        return ferry_op_fail(n, err, "K=%lld is outside [0, %lld]", (long long)k, (long long)len);
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    dims[ax] = k;
    if (ferry_tensor_reshape(n->out[0], x->dtype, x->ndim, dims, err) < 0 ||
        (n->n_out > 1 && ferry_tensor_reshape(n->out[1], FERRY_DT_INT64, x->ndim, dims, err) < 0))
        return -1;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < ax; i++)
        outer *= x->dims[i];
    for (int i = ax + 1; i < x->ndim; i++)
        inner *= x->dims[i];
    s_vi_t *buf = ferry_malloc(sizeof(s_vi_t) * (size_t)(len + 1));
    size_t es = ferry_dtype_size(x->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t q = 0; q < inner; q++) {
            for (int64_t j = 0; j < len; j++) {
                buf[j].v = ferry_tensor_get_f64(x, (o * len + j) * inner + q);
                buf[j].i = j;
            }
            qsort(buf, (size_t)len, sizeof(s_vi_t), is_largest ? s_cmp_largest : s_cmp_smallest);
            for (int64_t j = 0; j < k; j++) {
                int64_t di = (o * k + j) * inner + q;
                s_copy1(n->out[0], di, x, (o * len + buf[j].i) * inner + q, es);
                if (n->n_out > 1)
                    ((int64_t *)n->out[1]->data)[di] = buf[j].i;
            }
        }
    free(buf);
    return 0;
}

/* ---- NonZero, Compress --------------------------------------------------------------------- */

static int s_run_nonzero(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM_NUMERIC | FERRY_DTM(FERRY_DT_BOOL), err) < 0)
        return -1;
    int64_t nz = 0;
    for (int64_t i = 0; i < x->count; i++)
        nz += ferry_tensor_get_f64(x, i) != 0;
    int nd = x->ndim > 0 ? x->ndim : 1;
    int64_t dims[2] = {x->ndim, nz};
    if (ferry_tensor_reshape(n->out[0], FERRY_DT_INT64, 2, dims, err) < 0)
        return -1;
    int64_t st[FERRY_TENSOR_MAX_DIMS];
    s_strides(x->ndim, x->dims, st);
    int64_t *y = n->out[0]->data, col = 0;
    for (int64_t i = 0; i < x->count; i++) {
        if (ferry_tensor_get_f64(x, i) == 0)
            continue;
        int64_t rem = i;
        for (int d = 0; d < x->ndim; d++) {
            y[d * nz + col] = rem / st[d];
            rem %= st[d];
        }
        col++;
    }
    (void)nd;
    return 0;
}

static int s_run_compress(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err), *c = x ? ferry_op_input(n, 1, err) : NULL;
    if (!c || ferry_op_check_type(n, 1, FERRY_DTM(FERRY_DT_BOOL), err) < 0)
        return -1;
    if (c->ndim != 1)
        return ferry_op_fail(n, err, "condition must be 1-D");
    const Onnx__AttributeProto *axa = ferry_attr(n, "axis");
    const uint8_t *cd = c->data;
    if (!axa) { /* flattened */
        int64_t cnt = 0;
        for (int64_t i = 0; i < c->count && i < x->count; i++)
            cnt += cd[i] != 0;
        if (ferry_tensor_reshape(n->out[0], x->dtype, 1, &cnt, err) < 0)
            return -1;
        size_t es = ferry_dtype_size(x->dtype);
        for (int64_t i = 0, o = 0; i < c->count && i < x->count; i++)
            if (cd[i])
                s_copy1(n->out[0], o++, x, i, es);
        return 0;
    }
    int ax;
    if (ferry_op_axis(n, ferry_attr_int(n, "axis", 0), x->ndim, &ax, err) < 0)
        return -1;
    int64_t len = x->dims[ax], cnt = 0;
    for (int64_t i = 0; i < c->count && i < len; i++)
        cnt += cd[i] != 0;
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    memcpy(dims, x->dims, sizeof(int64_t) * (size_t)x->ndim);
    dims[ax] = cnt;
    if (ferry_tensor_reshape(n->out[0], x->dtype, x->ndim, dims, err) < 0)
        return -1;
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < ax; i++)
        outer *= x->dims[i];
    for (int i = ax + 1; i < x->ndim; i++)
        inner *= x->dims[i];
    size_t es = ferry_dtype_size(x->dtype);
    for (int64_t o = 0; o < outer; o++)
        for (int64_t j = 0, oj = 0; j < len && j < c->count; j++) {
            if (!cd[j])
                continue;
            for (int64_t q = 0; q < inner; q++)
                s_copy1(n->out[0], (o * cnt + oj) * inner + q, x, (o * len + j) * inner + q, es);
            oj++;
        }
    return 0;
}

/* ---- GatherND, ScatterElements, ScatterND ------------------------------------------------- */

static int s_run_gathernd(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err), *ind = x ? ferry_op_input(n, 1, err) : NULL;
    if (!ind || ferry_op_check_type(n, 1, FERRY_DTM(FERRY_DT_INT64), err) < 0)
        return -1;
    int64_t b = ferry_attr_int(n, "batch_dims", 0);
    if (ind->ndim < 1 || b < 0 || b >= ind->ndim || b >= x->ndim)
        return ferry_op_fail(n, err, "batch_dims %lld is invalid for these ranks", (long long)b);
    int64_t last = ind->dims[ind->ndim - 1];
    if (last < 1 || last > x->ndim - b)
        return ferry_op_fail(n, err, "indices' last dimension %lld exceeds data rank %d - batch_dims", (long long)last,
                             x->ndim);
    for (int i = 0; i < b; i++)
        if (ind->dims[i] != x->dims[i])
            return ferry_op_fail(n, err, "batch dimension %d differs between data and indices", i);
    int64_t dims[FERRY_TENSOR_MAX_DIMS];
    int nd = 0;
    for (int i = 0; i < ind->ndim - 1; i++)
        dims[nd++] = ind->dims[i];
    for (int i = (int)(b + last); i < x->ndim; i++) {
        if (nd >= FERRY_TENSOR_MAX_DIMS)
            return ferry_op_fail(n, err, "output rank too large");
        dims[nd++] = x->dims[i];
    }
    if (ferry_tensor_reshape(n->out[0], x->dtype, nd, dims, err) < 0)
        return -1;
    int64_t xs[FERRY_TENSOR_MAX_DIMS];
    s_strides(x->ndim, x->dims, xs);
    int64_t slice = 1, batch = 1;
    for (int i = (int)(b + last); i < x->ndim; i++)
        slice *= x->dims[i];
    for (int i = 0; i < b; i++)
        batch *= x->dims[i];
    int64_t tuples = last ? ind->count / last : 0, per_batch = batch ? tuples / batch : 0;
    size_t es = ferry_dtype_size(x->dtype);
    const int64_t *iv = ind->data;
    for (int64_t t = 0; t < tuples; t++) {
        int64_t bi = per_batch ? t / per_batch : 0, off = bi * (b ? xs[b - 1] : 0);
        for (int64_t k = 0; k < last; k++) {
            int64_t dim = x->dims[b + k], j = iv[t * last + k];
            if (j < -dim || j >= dim)
                return ferry_op_fail(n, err, "index %lld is out of range for axis %lld of size %lld", (long long)j,
                                     (long long)(b + k), (long long)dim);
            off += (j < 0 ? j + dim : j) * xs[b + k];
        }
        for (int64_t q = 0; q < slice; q++)
            s_copy1(n->out[0], t * slice + q, x, off + q, es);
    }
    return 0;
}

enum { S_RED_NONE, S_RED_ADD, S_RED_MUL, S_RED_MAX, S_RED_MIN };

static int s_reduction(ferry_node_t *n, int *out, ferry_err_t *err)
{
    char *r = ferry_attr_string(n, "reduction", "none");
    *out = !strcmp(r, "none") ? S_RED_NONE : !strcmp(r, "add") ? S_RED_ADD : !strcmp(r, "mul") ? S_RED_MUL
           : !strcmp(r, "max") ? S_RED_MAX : !strcmp(r, "min") ? S_RED_MIN : -1;
    free(r);
    return *out < 0 ? ferry_op_fail(n, err, "reduction must be none, add, mul, max or min") : 0;
}

/* y[di] (op)= u[ui], same element type */
static void s_scatter_one(ferry_tensor_t *y, int64_t di, const ferry_tensor_t *u, int64_t ui, int red, size_t es)
{
    if (red == S_RED_NONE || y->dtype == FERRY_DT_STRING || y->dtype == FERRY_DT_BOOL) {
        s_copy1(y, di, u, ui, es);
        return;
    }
    double a = ferry_tensor_get_f64(y, di), b = ferry_tensor_get_f64(u, ui), r;
    int64_t ia = ferry_tensor_get_i64(y, di), ib = ferry_tensor_get_i64(u, ui), ir;
    switch (red) {
    case S_RED_ADD: r = a + b; ir = (int64_t)((uint64_t)ia + (uint64_t)ib); break;
    case S_RED_MUL: r = a * b; ir = (int64_t)((uint64_t)ia * (uint64_t)ib); break;
    case S_RED_MAX: r = a > b ? a : b; ir = ia > ib ? ia : ib; break;
    default: r = a < b ? a : b; ir = ia < ib ? ia : ib; break;
    }
    if (FERRY_DTM(y->dtype) & FERRY_DTM_FLOATS)
        ferry_convert_elems((char *)y->data + (size_t)di * es, y->dtype, &r, FERRY_DT_DOUBLE, 1);
    else
        ferry_convert_elems((char *)y->data + (size_t)di * es, y->dtype, &ir, FERRY_DT_INT64, 1);
}

static int s_run_scatter_elements(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err), *ind = x ? ferry_op_input(n, 1, err) : NULL,
                         *u = ind ? ferry_op_input(n, 2, err) : NULL;
    if (!u || ferry_op_check_type(n, 1, FERRY_DTM(FERRY_DT_INT64) | FERRY_DTM(FERRY_DT_INT32), err) < 0)
        return -1;
    int red, ax;
    if (s_reduction(n, &red, err) < 0 || ferry_op_axis(n, ferry_attr_int(n, "axis", 0), x->ndim, &ax, err) < 0)
        return -1;
    if (u->dtype != x->dtype || ind->ndim != x->ndim || u->ndim != x->ndim)
        return ferry_op_fail(n, err, "data, indices and updates must have one rank (and data/updates one type)");
    for (int d = 0; d < x->ndim; d++)
        if (ind->dims[d] != u->dims[d] || ind->dims[d] > x->dims[d])
            return ferry_op_fail(n, err, "indices/updates shape does not fit the data on axis %d", d);
    if (ferry_tensor_copy(n->out[0], x, err) < 0)
        return -1;
    int64_t xs[FERRY_TENSOR_MAX_DIMS], idx[FERRY_TENSOR_MAX_DIMS] = {0};
    s_strides(x->ndim, x->dims, xs);
    size_t es = ferry_dtype_size(x->dtype);
    for (int64_t i = 0; i < ind->count; i++) {
        int64_t j = ferry_tensor_get_i64(ind, i), dim = x->dims[ax];
        if (j < -dim || j >= dim)
            return ferry_op_fail(n, err, "index %lld is out of range for axis %d of size %lld", (long long)j, ax,
                                 (long long)dim);
        int64_t off = 0;
        for (int d = 0; d < x->ndim; d++)
            off += (d == ax ? (j < 0 ? j + dim : j) : idx[d]) * xs[d];
        s_scatter_one(n->out[0], off, u, i, red, es);
        for (int d = x->ndim - 1; d >= 0; d--) {
            if (++idx[d] < ind->dims[d])
                break;
            idx[d] = 0;
        }
    }
    return 0;
}

static int s_run_scatternd(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err), *ind = x ? ferry_op_input(n, 1, err) : NULL,
                         *u = ind ? ferry_op_input(n, 2, err) : NULL;
    if (!u || ferry_op_check_type(n, 1, FERRY_DTM(FERRY_DT_INT64), err) < 0)
        return -1;
    int red;
    if (s_reduction(n, &red, err) < 0)
        return -1;
    int64_t last = ind->ndim ? ind->dims[ind->ndim - 1] : 0;
    if (ind->ndim < 1 || last < 1 || last > x->ndim || u->dtype != x->dtype)
        return ferry_op_fail(n, err, "indices' last dimension must be in [1, data rank] and updates of data's type");
    int64_t slice = 1;
    for (int i = (int)last; i < x->ndim; i++)
        slice *= x->dims[i];
    int64_t tuples = ind->count / last;
    if (u->count != tuples * slice)
        return ferry_op_fail(n, err, "updates hold %lld elements, %lld expected", (long long)u->count,
                             (long long)(tuples * slice));
    if (ferry_tensor_copy(n->out[0], x, err) < 0)
        return -1;
    int64_t xs[FERRY_TENSOR_MAX_DIMS];
    s_strides(x->ndim, x->dims, xs);
    size_t es = ferry_dtype_size(x->dtype);
    const int64_t *iv = ind->data;
    for (int64_t t = 0; t < tuples; t++) {
        int64_t off = 0;
        for (int64_t k = 0; k < last; k++) {
            int64_t dim = x->dims[k], j = iv[t * last + k];
            if (j < -dim || j >= dim)
                return ferry_op_fail(n, err, "index %lld is out of range for axis %lld", (long long)j, (long long)k);
            off += (j < 0 ? j + dim : j) * xs[k];
        }
        for (int64_t q = 0; q < slice; q++)
            s_scatter_one(n->out[0], off + q, u, t * slice + q, red, es);
    }
    return 0;
}

/* ---- Pad ------------------------------------------------------------------------------------ */

static int s_run_pad(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || x->dtype == FERRY_DT_STRING)
        return x ? ferry_op_fail(n, err, "string input is not supported") : -1;
    char *mode_s = ferry_attr_string(n, "mode", "constant");
    int mode = !strcmp(mode_s, "constant") ? 0 : !strcmp(mode_s, "reflect") ? 1 : !strcmp(mode_s, "edge") ? 2 : -1;
    free(mode_s);
    if (mode < 0)
        return ferry_op_fail(n, err, "mode must be constant, reflect or edge");
    int64_t *pads = NULL, np = 0;
    double cval = 0;
    if (n->opset < 11) {
        size_t cnt;
        const int64_t *p = ferry_attr_ints(n, "pads", &cnt);
        pads = ferry_malloc(sizeof(int64_t) * (cnt + 1));
        if (cnt)
            memcpy(pads, p, cnt * 8);
        np = (int64_t)cnt;
        cval = ferry_attr_float(n, "value", 0.0f);
    } else {
        if (ferry_op_read_ints(n, 1, &pads, &np, err) < 0)
            return -1;
        if (n->n_in > 2 && n->in[2]) {
            if (n->in[2]->count != 1 || n->in[2]->dtype != x->dtype) {
                free(pads);
                return ferry_op_fail(n, err, "constant_value must be a scalar of the input's type");
            }
            cval = ferry_tensor_get_f64(n->in[2], 0);
        }
        if (n->n_in > 3 && n->in[3]) {
            free(pads);
            ferry_op_fail(n, err, "the axes input (opset 18) is not supported");
            return FERRY_ENGINE_EUNSUPPORTED;
        }
    }
    int rc = -1, nd = x->ndim;
    int64_t dims[FERRY_TENSOR_MAX_DIMS], xs[FERRY_TENSOR_MAX_DIMS], idx[FERRY_TENSOR_MAX_DIMS] = {0};
    if (np != 2 * nd) {
        ferry_op_fail(n, err, "pads has %lld values for rank %d", (long long)np, nd);
        goto out;
    }
    for (int d = 0; d < nd; d++) {
        dims[d] = x->dims[d] + pads[d] + pads[d + nd];
        if (dims[d] < 0 || pads[d] > FERRY_TENSOR_MAX_ELEMS || pads[d + nd] > FERRY_TENSOR_MAX_ELEMS ||
            (mode != 0 && x->dims[d] == 0 && dims[d] > 0) ||
            (mode == 1 && (pads[d] >= x->dims[d] || pads[d + nd] >= x->dims[d]) && (pads[d] > 0 || pads[d + nd] > 0))) {
            ferry_op_fail(n, err, "pads are invalid for axis %d of size %lld", d, (long long)x->dims[d]);
            goto out;
        }
    }
    if (ferry_tensor_reshape(n->out[0], x->dtype, nd, dims, err) < 0)
        goto out;
    s_strides(nd, x->dims, xs);
    size_t es = ferry_dtype_size(x->dtype);
    for (int64_t i = 0; i < n->out[0]->count; i++) {
        int64_t off = 0;
        bool is_const = false;
        for (int d = 0; d < nd; d++) {
            int64_t j = idx[d] - pads[d], len = x->dims[d];
            if (j < 0 || j >= len) {
                if (mode == 0) {
                    is_const = true;
                    break;
                }
                if (mode == 2)
                    j = j < 0 ? 0 : len - 1;
                else
                    j = j < 0 ? -j : 2 * (len - 1) - j;
            }
            off += j * xs[d];
        }
        if (is_const)
            ferry_convert_elems((char *)n->out[0]->data + (size_t)i * es, x->dtype, &cval, FERRY_DT_DOUBLE, 1);
        else
            s_copy1(n->out[0], i, x, off, es);
        for (int d = nd - 1; d >= 0; d--) {
            if (++idx[d] < dims[d])
                break;
            idx[d] = 0;
        }
    }
    rc = 0;
out:
    free(pads);
    return rc;
}

/* ---- DepthToSpace, SpaceToDepth ---------------------------------------------------------- */

static int s_space_depth(ferry_node_t *n, bool is_to_space, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || x->dtype == FERRY_DT_STRING)
        return x ? ferry_op_fail(n, err, "string input is not supported") : -1;
    int64_t bs = ferry_attr_int(n, "blocksize", 0);
    if (x->ndim != 4 || bs < 1 || bs > 4096)
        return ferry_op_fail(n, err, "input must be [N,C,H,W] and blocksize >= 1");
    int64_t N = x->dims[0], C = x->dims[1], H = x->dims[2], W = x->dims[3];
    char *mode = ferry_attr_string(n, "mode", "DCR");
    bool is_crd = !strcmp(mode, "CRD");
    bool is_known = is_crd || !strcmp(mode, "DCR");
    free(mode);
    if (!is_known)
        return ferry_op_fail(n, err, "mode must be DCR or CRD");
    int64_t dims[4];
    if (is_to_space) {
        if (C % (bs * bs))
            return ferry_op_fail(n, err, "channels %lld not divisible by blocksize^2", (long long)C);
        dims[0] = N, dims[1] = C / (bs * bs), dims[2] = H * bs, dims[3] = W * bs;
    } else {
        if (H % bs || W % bs)
            return ferry_op_fail(n, err, "H and W must be divisible by blocksize");
        dims[0] = N, dims[1] = C * bs * bs, dims[2] = H / bs, dims[3] = W / bs;
    }
    if (ferry_tensor_reshape(n->out[0], x->dtype, 4, dims, err) < 0)
        return -1;
    size_t es = ferry_dtype_size(x->dtype);
    int64_t oc = dims[1], oh = dims[2], ow = dims[3];
    for (int64_t b = 0; b < N; b++)
        for (int64_t c = 0; c < oc; c++)
            for (int64_t h = 0; h < oh; h++)
                for (int64_t w = 0; w < ow; w++) {
                    int64_t di = ((b * oc + c) * oh + h) * ow + w, si;
                    if (is_to_space) {
                        int64_t bh = h % bs, bw = w % bs;
                        int64_t ic = is_crd ? c * bs * bs + bh * bs + bw : (bh * bs + bw) * oc + c;
                        si = ((b * C + ic) * H + h / bs) * W + w / bs;
                    } else {
                        int64_t blk = c / C, ic = c % C, bh = blk / bs, bw = blk % bs;
                        si = ((b * C + ic) * H + h * bs + bh) * W + w * bs + bw;
                    }
                    s_copy1(n->out[0], di, x, si, es);
                }
    return 0;
}

static int s_run_depth_to_space(ferry_node_t *n, ferry_err_t *err) { return s_space_depth(n, true, err); }
static int s_run_space_to_depth(ferry_node_t *n, ferry_err_t *err) { return s_space_depth(n, false, err); }

/* ---- GlobalAveragePool, GlobalMaxPool, InstanceNormalization ------------------------------ */

static int s_global_pool(ferry_node_t *n, bool is_max, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE), err) < 0)
        return -1;
    if (x->ndim < 2)
        return ferry_op_fail(n, err, "input must have rank >= 2");
    int64_t dims[FERRY_TENSOR_MAX_DIMS], inner = 1;
    for (int d = 0; d < x->ndim; d++) {
        dims[d] = d < 2 ? x->dims[d] : 1;
        if (d >= 2)
            inner *= x->dims[d];
    }
    if (ferry_tensor_reshape(n->out[0], x->dtype, x->ndim, dims, err) < 0)
        return -1;
    int64_t groups = x->dims[0] * x->dims[1];
    for (int64_t g = 0; g < groups; g++) {
        double acc = is_max ? -INFINITY : 0;
        for (int64_t q = 0; q < inner; q++) {
            double v = ferry_tensor_get_f64(x, g * inner + q);
            acc = is_max ? (v > acc ? v : acc) : acc + v;
        }
        if (!is_max)
            acc = inner ? acc / (double)inner : NAN;
        ferry_convert_elems((char *)n->out[0]->data + g * (int64_t)ferry_dtype_size(x->dtype), x->dtype, &acc,
                            FERRY_DT_DOUBLE, 1);
    }
    return 0;
}

static int s_run_global_avg(ferry_node_t *n, ferry_err_t *err) { return s_global_pool(n, false, err); }
static int s_run_global_max(ferry_node_t *n, ferry_err_t *err) { return s_global_pool(n, true, err); }

static int s_run_instance_norm(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err), *sc = x ? ferry_op_input(n, 1, err) : NULL,
                         *bi = sc ? ferry_op_input(n, 2, err) : NULL;
    if (!bi || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_FLOAT) | FERRY_DTM(FERRY_DT_DOUBLE), err) < 0)
        return -1;
    if (x->ndim < 3 || sc->count != x->dims[1] || bi->count != x->dims[1] || sc->dtype != x->dtype ||
        bi->dtype != x->dtype)
        return ferry_op_fail(n, err, "input must be [N,C,...] with scale and B of C values of its type");
    double eps = ferry_attr_float(n, "epsilon", 1e-5f);
    if (ferry_tensor_reshape_like(n->out[0], x->dtype, x, err) < 0)
        return -1;
    int64_t C = x->dims[1], groups = x->dims[0] * C, inner = groups > 0 ? x->count / groups : 0;
    size_t es = ferry_dtype_size(x->dtype);
    for (int64_t g = 0; g < groups; g++) {
        double mu = 0, var = 0;
        for (int64_t q = 0; q < inner; q++)
            mu += ferry_tensor_get_f64(x, g * inner + q);
        mu /= (double)inner;
        for (int64_t q = 0; q < inner; q++) {
            double d = ferry_tensor_get_f64(x, g * inner + q) - mu;
            var += d * d;
        }
        var /= (double)inner;
        double s = ferry_tensor_get_f64(sc, g % C) / sqrt(var + eps), b = ferry_tensor_get_f64(bi, g % C);
        for (int64_t q = 0; q < inner; q++) {
            double v = (ferry_tensor_get_f64(x, g * inner + q) - mu) * s + b;
            ferry_convert_elems((char *)n->out[0]->data + (size_t)(g * inner + q) * es, x->dtype, &v, FERRY_DT_DOUBLE,
                                1);
        }
    }
    return 0;
}

/* ---- StringNormalizer ----------------------------------------------------------------- */

/* ASCII case mapping only: it is the same in every locale the prepare step accepts; a
 * string with other bytes makes the run fail rather than guess a locale's rules. */
static bool s_ascii_case(const char *in, char *out, int action /* 0 none, 1 lower, 2 upper */)
{
    size_t i = 0;
    for (; in[i]; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c >= 0x80 && action)
            return false;
        out[i] = (char)(action == 1 && c >= 'A' && c <= 'Z' ? c + 32 : action == 2 && c >= 'a' && c <= 'z' ? c - 32 : c);
    }
    out[i] = 0;
    return true;
}

static int s_prep_string_normalizer(ferry_node_t *n, ferry_err_t *err)
{
    char *loc = ferry_attr_string(n, "locale", "");
    bool is_ok_locale = !*loc || !strncmp(loc, "en_", 3) || !strcmp(loc, "C") || !strcmp(loc, "POSIX");
    free(loc);
    if (!is_ok_locale) {
        ferry_op_fail(n, err, "only English/C locales are supported (case rules of other locales differ)");
        return FERRY_ENGINE_EUNSUPPORTED;
    }
    char *act = ferry_attr_string(n, "case_change_action", "NONE");
    n->ia[0] = !strcmp(act, "NONE") ? 0 : !strcmp(act, "LOWER") ? 1 : !strcmp(act, "UPPER") ? 2 : -1;
    free(act);
    if (n->ia[0] < 0)
        return ferry_op_fail(n, err, "case_change_action must be NONE, LOWER or UPPER");
    n->ia[1] = ferry_attr_int(n, "is_case_sensitive", 0);
    return 0;
}

static int s_run_string_normalizer(ferry_node_t *n, ferry_err_t *err)
{
    const ferry_tensor_t *x = ferry_op_input(n, 0, err);
    if (!x || ferry_op_check_type(n, 0, FERRY_DTM(FERRY_DT_STRING), err) < 0)
        return -1;
    if (!(x->ndim == 1 || (x->ndim == 2 && x->dims[0] == 1)))
        return ferry_op_fail(n, err, "input must be [C] or [1, C]");
    size_t nstop;
    const ProtobufCBinaryData *stop = ferry_attr_strings(n, "stopwords", &nstop);
    bool is_sensitive = n->ia[1] != 0;
    char *const *in = x->data;
    int64_t kept = 0, cnt = x->count;
    uint8_t *keep = ferry_calloc((size_t)cnt + 1, 1);
    size_t maxlen = 1;
    for (int64_t i = 0; i < cnt; i++)
        maxlen = FERRY_MAX(maxlen, strlen(in[i] ? in[i] : "") + 1);
    for (size_t w = 0; w < nstop; w++)
        maxlen = FERRY_MAX(maxlen, stop[w].len + 1);
    char *a = ferry_malloc(maxlen), *b = ferry_malloc(maxlen);
    int rc = 0;
    for (int64_t i = 0; i < cnt && rc == 0; i++) {
        const char *s = in[i] ? in[i] : "";
        bool is_stop = false;
        for (size_t w = 0; w < nstop && !is_stop; w++) {
            memcpy(b, stop[w].data ? (const char *)stop[w].data : "", stop[w].len);
            b[stop[w].len] = 0;
            if (is_sensitive) {
                is_stop = !strcmp(s, b);
            } else {
                if (!s_ascii_case(s, a, 1) || !s_ascii_case(b, b, 1)) {
                    rc = ferry_op_fail(n, err, "case-insensitive matching of non-ASCII text is not supported");
                    break;
                }
                is_stop = !strcmp(a, b);
            }
        }
        keep[i] = !is_stop;
        kept += !is_stop;
    }
    if (rc == 0) {
        int64_t dims[2] = {1, kept ? kept : 1};
        rc = x->ndim == 1 ? ferry_tensor_reshape(n->out[0], FERRY_DT_STRING, 1, &dims[1], err)
                          : ferry_tensor_reshape(n->out[0], FERRY_DT_STRING, 2, dims, err);
    }
    if (rc == 0 && kept == 0)
        ferry_tensor_set_string(n->out[0], 0, "", 0);
    for (int64_t i = 0, o = 0; rc == 0 && i < cnt; i++) {
        if (!keep[i])
            continue;
        if (!s_ascii_case(in[i] ? in[i] : "", a, (int)n->ia[0])) {
            rc = ferry_op_fail(n, err, "case change of non-ASCII text is not supported");
            break;
        }
        ferry_tensor_set_string(n->out[0], o++, a, strlen(a));
    }
    free(a);
    free(b);
    free(keep);
    return rc;
}

const ferry_op_def_t ferry_engine_ops_index[] = {
    {"", "OneHot", 9, NULL, s_run_onehot},
    {"", "TopK", 1, NULL, s_run_topk},
    {"", "NonZero", 9, NULL, s_run_nonzero},
    {"", "Compress", 9, NULL, s_run_compress},
    {"", "GatherND", 11, NULL, s_run_gathernd},
    {"", "ScatterElements", 11, NULL, s_run_scatter_elements},
    {"", "ScatterND", 11, NULL, s_run_scatternd},
    {"", "Pad", 2, NULL, s_run_pad},
    {"", "DepthToSpace", 1, NULL, s_run_depth_to_space},
    {"", "SpaceToDepth", 1, NULL, s_run_space_to_depth},
    {"", "GlobalAveragePool", 1, NULL, s_run_global_avg},
    {"", "GlobalMaxPool", 1, NULL, s_run_global_max},
    {"", "InstanceNormalization", 1, NULL, s_run_instance_norm},
    {"", "StringNormalizer", 10, s_prep_string_normalizer, s_run_string_normalizer},
    {NULL, NULL, 0, NULL, NULL},
};
