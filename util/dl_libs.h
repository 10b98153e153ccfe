/* dl_libs.h -- libzmq and libxml2 loaded on first use (dlopen) instead of at start-up.
 *
 * Why: linking libzmq pulls libstdc++, krb5/gssapi, pgm, norm, sodium..., and libxml2
 * pulls ICU; the dynamic loader maps and relocates them in every ferry process, which
 * cost ~9 ms (libzmq) and ~7 ms (libxml2) of start-up per process on the project VM
 * (page faults ~30 us each), though most commands use neither.
 *
 * util/dl_libs.c defines the zmq_* and xml* functions ferry calls, with the prototypes of
 * zmq.h and the libxml2 headers (a drift is a compile error); each loads its library on
 * the first call (thread-safe, pthread_once) and calls the real one, resolved with dlsym
 * on the library's own handle. Callers include zmq.h / libxml headers as before. If a
 * library cannot be loaded (or lacks a symbol) the process prints one line naming the
 * library and dlerror() and exits FERRY_EXIT_RUNTIME: there is no way to go on without it.
 */
#ifndef FERRY_DL_LIBS_H
#define FERRY_DL_LIBS_H

#define FERRY_DL_ZMQ_SONAME "libzmq.so.5"
#define FERRY_DL_XML_SONAME "libxml2.so.2"

/* dlopen(soname, RTLD_NOW | RTLD_LOCAL); never returns NULL: on failure prints
 * "ferry: cannot load SONAME (WHAT): dlerror()" on stderr and exits FERRY_EXIT_RUNTIME.
 * errno is preserved. Exposed for the loader's own tests. */
void *ferry_dl_open(const char *soname, const char *what);

/* dlsym(handle, name), with the same failure policy as ferry_dl_open. */
void *ferry_dl_sym(void *handle, const char *soname, const char *name);

#endif
