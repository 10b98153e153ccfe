/* mem.h -- the one allocator policy: out of memory aborts the process with a message.
 *
 * ferry is a daemon-style program; continuing after a failed allocation only moves the
 * crash somewhere harder to diagnose. Every allocation goes through these wrappers, so
 * the policy lives in one place. Inputs from outside (sizes in files and frames) must be
 * bounded by the caller *before* allocating; these wrappers are not a defence against
 * hostile sizes. */
#ifndef FERRY_MEM_H
#define FERRY_MEM_H

#include <stddef.h>

void *ferry_malloc(size_t size);
void *ferry_calloc(size_t count, size_t size);
void *ferry_realloc(void *ptr, size_t size);
/* realloc of count*size, aborting on multiplication overflow */
void *ferry_reallocarray(void *ptr, size_t count, size_t size);
char *ferry_strdup(const char *s);
char *ferry_strndup(const char *s, size_t n);
/* printf into a fresh heap string; the caller frees it */
char *ferry_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
