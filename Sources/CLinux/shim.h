#ifndef MELISSA_CLINUX_SHIM_H
#define MELISSA_CLINUX_SHIM_H
/* Linux headers Glibc's Swift module leaves out. */
#include <sys/signalfd.h>
#include <malloc.h> /* mallopt */
#include <sys/prctl.h>
/* prctl is variadic, which Swift cannot call; this names the calling thread (15 bytes shown). */
static inline int melissa_set_thread_name(const char *name) { return prctl(PR_SET_NAME, name, 0, 0, 0); }
#endif
