/* capture.h -- run a helper program with a deadline and a bounded, captured stdout */
#ifndef FERRY_CAPTURE_H
#define FERRY_CAPTURE_H

#include <stddef.h>

/* Run argv (argv[0] searched on PATH) with stdout captured, at most max bytes, within
 * timeout_ms. The child runs in its own process group, killed as a whole (SIGKILL) at the
 * deadline or when it writes too much. Returns 0 with *out (NUL-terminated, the caller
 * frees it) and *out_len when the program exited 0; otherwise a negative errno: -ENOENT
 * (not found), -ETIMEDOUT, -EFBIG (output over max), -ECHILD (non-zero exit or signal). */
int ferry_capture_run(char *const argv[], int timeout_ms, size_t max, char **out, size_t *out_len);

#endif
