/* test_dl_libs.c -- unit tests for util/dl_libs.c: libzmq/libxml2 loaded on first use */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "util/common.h"
#include "util/dl_libs.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <zmq.h>
#include <libxml/parser.h>
#include <libxml/tree.h>

#define S_XML_THREADS 8
#define S_CHILD_STDERR_MAX 4096

/* Is the library mapped into this process? RTLD_NOLOAD never loads it. */
static int s_is_loaded(const char *soname)
{
    void *h = dlopen(soname, RTLD_NOW | RTLD_NOLOAD);
    if (!h)
        return 0;
    dlclose(h);
    return 1;
}

/* The test binary links neither library: the first zmq_ call maps libzmq, and the shim
 * answers like libzmq does (Z85 test vector of ZeroMQ RFC 32; strerror for system errors). */
static void test_zmq_loaded_on_first_use(void **state)
{
    assert_int_equal(s_is_loaded(FERRY_DL_ZMQ_SONAME), 0);
    errno = EAGAIN;
    assert_int_equal(zmq_has("ipc") == 0 || zmq_has("ipc") == 1, 1);
    assert_int_equal(errno, EAGAIN);  /* loading preserves errno */
    assert_int_equal(s_is_loaded(FERRY_DL_ZMQ_SONAME), 1);

    const uint8_t bytes[8] = {0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B};
    char text[11];
    assert_non_null(zmq_z85_encode(text, bytes, sizeof bytes));
    assert_string_equal(text, "HelloWorld");
    uint8_t back[8];
    assert_non_null(zmq_z85_decode(back, "HelloWorld"));
    assert_memory_equal(back, bytes, sizeof bytes);

    assert_string_equal(zmq_strerror(EINVAL), strerror(EINVAL));
    void *ctx = zmq_ctx_new();
    assert_non_null(ctx);
    void *sock = zmq_socket(ctx, ZMQ_PAIR);
    assert_non_null(sock);
    assert_int_equal(zmq_bind(sock, "tcp://bogus-address"), -1);
    assert_true(zmq_errno() != 0);
    assert_int_equal(zmq_close(sock), 0);
    assert_int_equal(zmq_ctx_term(ctx), 0);
}

static void *s_parse_thread(void *arg)
{
    static const char doc[] = "<PMML>\n  <Header>ferry</Header>\n</PMML>\n";
    long *line = arg;
    xmlDocPtr d = xmlReadMemory(doc, (int)strlen(doc), "t.xml", NULL, XML_PARSE_NONET);
    if (!d)
        return NULL;
    xmlNodePtr root = xmlDocGetRootElement(d);
    xmlNodePtr header = root ? root->children : NULL;
    while (header && header->type != XML_ELEMENT_NODE)
        header = header->next;
    if (header) {
        xmlChar *text = xmlNodeGetContent(header);
        if (text && strcmp((const char *)text, "ferry") == 0)
            *line = xmlGetLineNo(header);
        xmlFree(text);  /* ferry's xmlFree variable forwards to libxml2's */
    }
    xmlFreeDoc(d);
    return NULL;
}

/* First libxml2 use from several threads at once: one load, every parse right. */
static void test_xml_first_use_from_threads(void **state)
{
    assert_int_equal(s_is_loaded(FERRY_DL_XML_SONAME), 0);
    pthread_t threads[S_XML_THREADS];
    long lines[S_XML_THREADS] = {0};
    for (int i = 0; i < S_XML_THREADS; i++)
        assert_int_equal(pthread_create(&threads[i], NULL, s_parse_thread, &lines[i]), 0);
    for (int i = 0; i < S_XML_THREADS; i++) {
        assert_int_equal(pthread_join(threads[i], NULL), 0);
        assert_int_equal(lines[i], 2);
    }
    assert_int_equal(s_is_loaded(FERRY_DL_XML_SONAME), 1);
}

/* Runs fn in a child; returns its exit status and what it wrote on stderr. */
static int s_run_child(void (*fn)(void), char *err, size_t cap)
{
    int fds[2];
    if (pipe(fds) != 0)
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], STDERR_FILENO);
        close(fds[0]);
        fn();
        _exit(0);  /* fn returned: the loader did not stop the process */
    }
    close(fds[1]);
    size_t len = 0;
    ssize_t n;
    while (len + 1 < cap && (n = read(fds[0], err + len, cap - 1 - len)) > 0)
        len += (size_t)n;
    err[len] = '\0';
    close(fds[0]);
    int status = 0;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
        return -1;
    return WEXITSTATUS(status);
}

static void s_open_missing(void)
{
    ferry_dl_open("libferry-no-such-library.so.7", "a test library");
}

static void s_sym_missing(void)
{
    void *h = ferry_dl_open(FERRY_DL_ZMQ_SONAME, "ZeroMQ");
    ferry_dl_sym(h, FERRY_DL_ZMQ_SONAME, "zmq_no_such_function");
}

/* A missing library or symbol: one line naming it and dlerror(), exit FERRY_EXIT_RUNTIME. */
static void test_missing_library_exits_runtime(void **state)
{
    char err[S_CHILD_STDERR_MAX];
    assert_int_equal(s_run_child(s_open_missing, err, sizeof err), FERRY_EXIT_RUNTIME);
    assert_non_null(strstr(err, "ferry: cannot load libferry-no-such-library.so.7 (a test library): "));
    assert_non_null(strstr(err, "No such file"));  /* dlerror()'s text */
    assert_non_null(strchr(err, '\n'));
    assert_null(strchr(strchr(err, '\n') + 1, '\n'));  /* one line */

    assert_int_equal(s_run_child(s_sym_missing, err, sizeof err), FERRY_EXIT_RUNTIME);
    assert_non_null(strstr(err, "ferry: libzmq.so.5 lacks symbol zmq_no_such_function: "));
}

int main(void)
{
    /* Order matters: the first two check that nothing loaded the libraries earlier. */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zmq_loaded_on_first_use),
        cmocka_unit_test(test_xml_first_use_from_threads),
        cmocka_unit_test(test_missing_library_exits_runtime),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
