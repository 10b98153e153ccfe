/* cpus.c -- how many CPUs this process may run on */
#include "util/cpus.h"

#include <errno.h>
#include <sched.h>
#include <unistd.h>

/* the affinity mask is grown up to this many CPUs for big machines */
#define S_MAX_MASK_CPUS (1024 * 64)

int ferry_cpus_available(void)
{
    for (int n = 1024; n <= S_MAX_MASK_CPUS; n *= 2) {
        cpu_set_t *set = CPU_ALLOC((size_t)n);
        size_t size = CPU_ALLOC_SIZE((size_t)n);
        if (!set)
            break;
        if (sched_getaffinity(0, size, set) == 0) {
            int count = CPU_COUNT_S(size, set);
            CPU_FREE(set);
            return count;
        }
        CPU_FREE(set);
        if (errno != EINVAL)
            break;
    }
    long online = sysconf(_SC_NPROCESSORS_ONLN);
    return online > 0 ? (int)online : 0;
}
