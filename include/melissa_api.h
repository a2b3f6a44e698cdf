/*
 * melissa_api.h - the Melissa client API for C and C++ simulations.
 *
 * Same prototypes as INRIA Melissa's melissa_api.h, so existing simulations build unchanged.
 * Link with libmelissa.so:  mpicc sim.c $(melissa-config --cflags --libs) -o sim
 * Every call is collective over the ranks of comm_app except melissa_send, which each rank
 * calls with its own values. Any failure prints "melissa: <reason>" and calls MPI_Abort.
 * Environment: MELISSA_SIMU_ID, MELISSA_SERVER_ADDRESS (set by the launcher),
 * MELISSA_CONNECT_TIMEOUT, MELISSA_ZMQ_HWM (optional). See docs/CLIENT.md.
 */
#ifndef MELISSA_API_H
#define MELISSA_API_H

#include <mpi.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Registers field_name with local_vect_size doubles on this rank. The first call connects to
 * the Melissa server. Call it once per field, on every rank of comm_app, after MPI_Init. */
void melissa_init(const char *field_name, int local_vect_size, MPI_Comm comm_app);

/* Sends the next time step of field_name: send_vect holds local_vect_size doubles. */
void melissa_send(const char *field_name, const double *send_vect);

/* Flushes every queued time step and disconnects. Call it before MPI_Finalize. */
void melissa_finalize(void);

#ifdef __cplusplus
}
#endif

#endif /* MELISSA_API_H */
