#ifndef MELISSA_CZMQ_SHIM_H
#define MELISSA_CZMQ_SHIM_H
#include <zmq.h>
#endif
