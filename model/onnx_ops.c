/* onnx_ops.c -- lookups in the generated ONNX operator table */
#include "model/onnx_ops.h"

#include <string.h>

const char *ferry_onnx_domain_canonical(const char *domain)
{
    if (!domain || !strcmp(domain, "ai.onnx"))
        return "";
    return domain;
}

bool ferry_onnx_domain_known(const char *domain)
{
    domain = ferry_onnx_domain_canonical(domain);
    return !strcmp(domain, "") || !strcmp(domain, "ai.onnx.ml") || !strcmp(domain, "ai.onnx.preview.training");
}

static int s_cmp(const ferry_onnx_op_def_t *row, const char *domain, const char *name)
{
    int c = strcmp(row->domain, domain);
    return c ? c : strcmp(row->name, name);
}

/* index of the first row of (domain, name), or ferry_onnx_ops_count */
static size_t s_first(const char *domain, const char *name)
{
    size_t lo = 0, hi = ferry_onnx_ops_count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s_cmp(&ferry_onnx_ops[mid], domain, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < ferry_onnx_ops_count && s_cmp(&ferry_onnx_ops[lo], domain, name) == 0)
        return lo;
    return ferry_onnx_ops_count;
}

const ferry_onnx_op_def_t *ferry_onnx_op_any(const char *domain, const char *name)
{
    if (!name)
        return NULL;
    size_t i = s_first(ferry_onnx_domain_canonical(domain), name);
    return i < ferry_onnx_ops_count ? &ferry_onnx_ops[i] : NULL;
}

const ferry_onnx_op_def_t *ferry_onnx_op_find(const char *domain, const char *name, int64_t opset)
{
    if (!name)
        return NULL;
    domain = ferry_onnx_domain_canonical(domain);
    const ferry_onnx_op_def_t *best = NULL;
    for (size_t i = s_first(domain, name); i < ferry_onnx_ops_count && !s_cmp(&ferry_onnx_ops[i], domain, name); i++)
        if (ferry_onnx_ops[i].since_version <= opset)
            best = &ferry_onnx_ops[i];
    return best;
}

const ferry_onnx_attr_def_t *ferry_onnx_op_attr(const ferry_onnx_op_def_t *op, const char *name)
{
    if (!op || !name)
        return NULL;
    int lo = op->attr_first, hi = op->attr_first + op->attr_count;
    while (lo < hi) {
        int mid = lo + (hi - lo) / 2;
        int c = strcmp(ferry_onnx_op_attrs[mid].name, name);
        if (c == 0)
            return &ferry_onnx_op_attrs[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

uint32_t ferry_onnx_op_type_mask(const ferry_onnx_op_def_t *op, bool is_output, size_t index)
{
    int n = is_output ? op->n_out_params : op->n_in_params;
    if (n == 0)
        return 0;
    if (index >= (size_t)n)
        index = (size_t)n - 1; /* variadic: the last formal parameter repeats */
    return ferry_onnx_op_types[op->types_first + (is_output ? op->n_in_params : 0) + (int)index];
}
