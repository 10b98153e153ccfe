/* dl_libs.c -- libzmq and libxml2 loaded on first use: the zmq_* and xml* functions ferry calls. */
#include "util/dl_libs.h"
#include "util/common.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include <zmq.h>
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xmlerror.h>
#include <libxml/xmlmemory.h>

/* libxml2 built with per-thread allocation hooks declares xmlFree as a macro over
 * __xmlFree(); this shim defines the plain global variable (Debian's 2.9 and later). */
#ifdef LIBXML_THREAD_ALLOC_ENABLED
#error "dl_libs.c: libxml2 with LIBXML_THREAD_ALLOC_ENABLED (xmlFree is __xmlFree()) is not handled"
#endif

static _Noreturn void s_die(const char *soname, const char *what, const char *detail)
{
    fprintf(stderr, "ferry: cannot load %s (%s): %s\n", soname, what,
            detail ? detail : "unknown dynamic loader error");
    exit(FERRY_EXIT_RUNTIME);
}

void *ferry_dl_open(const char *soname, const char *what)
{
    int saved_errno = errno;
    /* RTLD_LOCAL: the library's symbols stay out of the global scope, so nothing else
     * binds to them by accident; RTLD_NOW: a broken install fails here, not mid-call. */
    void *handle = dlopen(soname, RTLD_NOW | RTLD_LOCAL);
    if (!handle)
        s_die(soname, what, dlerror());
    errno = saved_errno;
    return handle;
}

void *ferry_dl_sym(void *handle, const char *soname, const char *name)
{
    int saved_errno = errno;
    dlerror();
    /* From the library's handle only: RTLD_DEFAULT/RTLD_NEXT could find this file's
     * own definitions and recurse. */
    void *sym = dlsym(handle, name);
    if (!sym) {
        const char *detail = dlerror();
        fprintf(stderr, "ferry: %s lacks symbol %s: %s\n", soname, name,
                detail ? detail : "symbol is NULL");
        exit(FERRY_EXIT_RUNTIME);
    }
    errno = saved_errno;
    return sym;
}

/* ---- libzmq ------------------------------------------------------------------------ */

/* Every zmq_ function ferry, its tests, benches and fuzzers call. */
#define S_ZMQ_FUNCS(X) \
    X(zmq_bind) X(zmq_close) X(zmq_connect) X(zmq_ctx_new) X(zmq_ctx_term) \
    X(zmq_curve_keypair) X(zmq_curve_public) X(zmq_errno) X(zmq_getsockopt) X(zmq_has) \
    X(zmq_msg_close) X(zmq_msg_data) X(zmq_msg_gets) X(zmq_msg_init) X(zmq_msg_more) \
    X(zmq_msg_recv) X(zmq_msg_send) X(zmq_msg_size) X(zmq_poll) X(zmq_recv) X(zmq_send) \
    X(zmq_setsockopt) X(zmq_socket) X(zmq_strerror) X(zmq_z85_decode) X(zmq_z85_encode)

/* Members carry the functions' names; typeof(&fn) keeps them in step with zmq.h. */
#define S_MEMBER(fn) typeof(&fn) fn;
typedef struct {
    S_ZMQ_FUNCS(S_MEMBER)
} s_zmq_table_t;

static s_zmq_table_t s_zmq;
static pthread_once_t s_zmq_once = PTHREAD_ONCE_INIT;

static void s_zmq_load(void)
{
    void *handle = ferry_dl_open(FERRY_DL_ZMQ_SONAME, "ZeroMQ, needed for sockets and keys");
#define S_ZMQ_RESOLVE(fn) s_zmq.fn = (typeof(&fn))ferry_dl_sym(handle, FERRY_DL_ZMQ_SONAME, #fn);
    S_ZMQ_FUNCS(S_ZMQ_RESOLVE)
#undef S_ZMQ_RESOLVE
}

/* pthread_once's fast path is one load and compare: cheap next to any zmq call. */
static inline const s_zmq_table_t *s_zmq_get(void)
{
    pthread_once(&s_zmq_once, s_zmq_load);
    return &s_zmq;
}

int zmq_bind(void *s_, const char *addr_) { return s_zmq_get()->zmq_bind(s_, addr_); }
int zmq_close(void *s_) { return s_zmq_get()->zmq_close(s_); }
int zmq_connect(void *s_, const char *addr_) { return s_zmq_get()->zmq_connect(s_, addr_); }
void *zmq_ctx_new(void) { return s_zmq_get()->zmq_ctx_new(); }
int zmq_ctx_term(void *context_) { return s_zmq_get()->zmq_ctx_term(context_); }

int zmq_curve_keypair(char *z85_public_key_, char *z85_secret_key_)
{
    return s_zmq_get()->zmq_curve_keypair(z85_public_key_, z85_secret_key_);
}

int zmq_curve_public(char *z85_public_key_, const char *z85_secret_key_)
{
    return s_zmq_get()->zmq_curve_public(z85_public_key_, z85_secret_key_);
}

int zmq_errno(void) { return s_zmq_get()->zmq_errno(); }

int zmq_getsockopt(void *s_, int option_, void *optval_, size_t *optvallen_)
{
    return s_zmq_get()->zmq_getsockopt(s_, option_, optval_, optvallen_);
}

int zmq_has(const char *capability_) { return s_zmq_get()->zmq_has(capability_); }
int zmq_msg_close(zmq_msg_t *msg_) { return s_zmq_get()->zmq_msg_close(msg_); }
void *zmq_msg_data(zmq_msg_t *msg_) { return s_zmq_get()->zmq_msg_data(msg_); }

const char *zmq_msg_gets(const zmq_msg_t *msg_, const char *property_)
{
    return s_zmq_get()->zmq_msg_gets(msg_, property_);
}

int zmq_msg_init(zmq_msg_t *msg_) { return s_zmq_get()->zmq_msg_init(msg_); }
int zmq_msg_more(const zmq_msg_t *msg_) { return s_zmq_get()->zmq_msg_more(msg_); }

int zmq_msg_recv(zmq_msg_t *msg_, void *s_, int flags_)
{
    return s_zmq_get()->zmq_msg_recv(msg_, s_, flags_);
}

int zmq_msg_send(zmq_msg_t *msg_, void *s_, int flags_)
{
    return s_zmq_get()->zmq_msg_send(msg_, s_, flags_);
}

size_t zmq_msg_size(const zmq_msg_t *msg_) { return s_zmq_get()->zmq_msg_size(msg_); }

int zmq_poll(zmq_pollitem_t *items_, int nitems_, long timeout_)
{
    return s_zmq_get()->zmq_poll(items_, nitems_, timeout_);
}

int zmq_recv(void *s_, void *buf_, size_t len_, int flags_)
{
    return s_zmq_get()->zmq_recv(s_, buf_, len_, flags_);
}

int zmq_send(void *s_, const void *buf_, size_t len_, int flags_)
{
    return s_zmq_get()->zmq_send(s_, buf_, len_, flags_);
}

int zmq_setsockopt(void *s_, int option_, const void *optval_, size_t optvallen_)
{
    return s_zmq_get()->zmq_setsockopt(s_, option_, optval_, optvallen_);
}

void *zmq_socket(void *ctx_, int type_) { return s_zmq_get()->zmq_socket(ctx_, type_); }
const char *zmq_strerror(int errnum_) { return s_zmq_get()->zmq_strerror(errnum_); }

uint8_t *zmq_z85_decode(uint8_t *dest_, const char *string_)
{
    return s_zmq_get()->zmq_z85_decode(dest_, string_);
}

char *zmq_z85_encode(char *dest_, const uint8_t *data_, size_t size_)
{
    return s_zmq_get()->zmq_z85_encode(dest_, data_, size_);
}

/* ---- libxml2 ----------------------------------------------------------------------- */

#define S_XML_FUNCS(X) \
    X(xmlCtxtGetLastError) X(xmlCtxtReadMemory) X(xmlDocGetRootElement) X(xmlFreeDoc) \
    X(xmlFreeParserCtxt) X(xmlGetLineNo) X(xmlGetProp) X(xmlNewParserCtxt) \
    X(xmlNodeGetContent) X(xmlReadMemory) X(xmlSetExternalEntityLoader) \
    X(xmlSetGenericErrorFunc)

typedef struct {
    S_XML_FUNCS(S_MEMBER)
    xmlFreeFunc *xml_free_var;  /* libxml2's own xmlFree variable (xmlMemSetup may change it) */
} s_xml_table_t;
#undef S_MEMBER

static s_xml_table_t s_xml;
static pthread_once_t s_xml_once = PTHREAD_ONCE_INIT;

static void s_xml_load(void)
{
    void *handle = ferry_dl_open(FERRY_DL_XML_SONAME, "libxml2, needed for PMML and nvidia-smi XML");
#define S_XML_RESOLVE(fn) s_xml.fn = (typeof(&fn))ferry_dl_sym(handle, FERRY_DL_XML_SONAME, #fn);
    S_XML_FUNCS(S_XML_RESOLVE)
#undef S_XML_RESOLVE
    s_xml.xml_free_var = (xmlFreeFunc *)ferry_dl_sym(handle, FERRY_DL_XML_SONAME, "xmlFree");
}

static inline const s_xml_table_t *s_xml_get(void)
{
    pthread_once(&s_xml_once, s_xml_load);
    return &s_xml;
}

/* xmlFree is a variable holding a function pointer (globals.h without thread-local
 * allocators): ferry's copy forwards to whatever libxml2's copy holds at the call. Memory
 * passed here was allocated by libxml2, so the library is already loaded. */
static void s_xml_free(void *mem)
{
    (*s_xml_get()->xml_free_var)(mem);
}
xmlFreeFunc xmlFree = s_xml_free;

xmlErrorPtr xmlCtxtGetLastError(void *ctx) { return s_xml_get()->xmlCtxtGetLastError(ctx); }

xmlDocPtr xmlCtxtReadMemory(xmlParserCtxtPtr ctxt, const char *buffer, int size,
                            const char *URL, const char *encoding, int options)
{
    return s_xml_get()->xmlCtxtReadMemory(ctxt, buffer, size, URL, encoding, options);
}

xmlNodePtr xmlDocGetRootElement(const xmlDoc *doc) { return s_xml_get()->xmlDocGetRootElement(doc); }
void xmlFreeDoc(xmlDocPtr cur) { s_xml_get()->xmlFreeDoc(cur); }
void xmlFreeParserCtxt(xmlParserCtxtPtr ctxt) { s_xml_get()->xmlFreeParserCtxt(ctxt); }
long xmlGetLineNo(const xmlNode *node) { return s_xml_get()->xmlGetLineNo(node); }

xmlChar *xmlGetProp(const xmlNode *node, const xmlChar *name)
{
    return s_xml_get()->xmlGetProp(node, name);
}

xmlParserCtxtPtr xmlNewParserCtxt(void) { return s_xml_get()->xmlNewParserCtxt(); }
xmlChar *xmlNodeGetContent(const xmlNode *cur) { return s_xml_get()->xmlNodeGetContent(cur); }

xmlDocPtr xmlReadMemory(const char *buffer, int size, const char *URL, const char *encoding,
                        int options)
{
    return s_xml_get()->xmlReadMemory(buffer, size, URL, encoding, options);
}

void xmlSetExternalEntityLoader(xmlExternalEntityLoader f)
{
    s_xml_get()->xmlSetExternalEntityLoader(f);
}

void xmlSetGenericErrorFunc(void *ctx, xmlGenericErrorFunc handler)
{
    s_xml_get()->xmlSetGenericErrorFunc(ctx, handler);
}
