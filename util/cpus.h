/* cpus.h -- how many CPUs this process may run on */
#ifndef FERRY_UTIL_CPUS_H
#define FERRY_UTIL_CPUS_H

/* Like nproc(1): the CPUs of this process's affinity mask (a container's or taskset's
 * limit), else the online CPUs; 0 when neither can be read. */
int ferry_cpus_available(void);

#endif
