# startup.mk -- libzmq and libxml2 are loaded on first use (util/dl_libs.c), not linked.
#
# A process linked with -lzmq maps libzmq and its tree (libstdc++, krb5/gssapi, pgm, norm,
# sodium, ...) at start-up, -lxml2 maps ICU: ~9 and ~7 ms per process on the project VM,
# paid by every `ferry` run and every `ferry exec` child, most of which use neither.
# util/dl_libs.c (in libferry.a) defines the zmq_* / xml* functions ferry, its tests,
# benches and fuzzers call and dlopen()s the library by SONAME on the first call, so no
# binary links them: no second definition exists and none can win by link order.
# Headers still come from pkg-config --cflags (PKG_CFLAGS is untouched).
LIBS := $(filter-out -lzmq -lxml2,$(LIBS)) -ldl
