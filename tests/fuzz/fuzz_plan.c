/* fuzz_plan.c -- libFuzzer target: any bytes as a plan file must parse or fail cleanly */
#include "coordinator/plan.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ferry_err_t err;
    ferry_plan_t *plan = ferry_plan_parse("fuzz.yaml", (const char *)data, size, &err);
    if (plan) {
        /* touch everything the coordinator will read */
        size_t total = 0;
        for (size_t i = 0; i < plan->n_groups; i++)
            total += strlen(plan->groups[i].name) + plan->groups[i].req.n_isa + plan->groups[i].req.n_tags;
        (void)total;
        ferry_plan_destroy(&plan);
    } else if (!memchr(err.msg, '\0', sizeof err.msg)) {
        __builtin_trap(); /* an unterminated message would be a bug */
    }
    return 0;
}
