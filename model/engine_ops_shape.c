/* engine_ops_shape.c -- placeholder */
#include "model/engine_impl.h"
const ferry_op_def_t ferry_engine_ops_shape[] = {{NULL, NULL, 0, NULL, NULL}};
