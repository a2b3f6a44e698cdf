#ifndef MELISSA_CLINUX_SHIM_H
#define MELISSA_CLINUX_SHIM_H
/* Linux headers Glibc's Swift module leaves out. */
#include <sys/signalfd.h>
#include <malloc.h> /* mallopt */
#endif
