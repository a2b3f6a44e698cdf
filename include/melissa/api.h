/*
 * melissa/api.h - the Melissa client API for C and C++ simulations.
 *
 * The same declarations as INRIA Melissa's <melissa/api.h>, so simulations instrumented for
 * Melissa build unchanged; <melissa_api.h> (the older name) includes this file.
 * Build:  mpicc sim.c $(melissa-config --cflags --libs) -o sim     (mpicxx for C++)
 *
 * melissa_init and melissa_finalize are collective over the ranks of the communicator;
 * melissa_send is called by each rank with its own values. Any failure prints
 * "melissa: <reason>" and calls MPI_Abort. Environment: MELISSA_SIMU_ID and
 * MELISSA_SERVER_ADDRESS (set by the launcher), MELISSA_CONNECT_TIMEOUT, MELISSA_ZMQ_HWM,
 * MELISSA_FINALIZE_TIMEOUT (optional). See docs/CLIENT.md.
 *
 * MPI: the library is built against Open MPI; MPI_Comm and MPI_Fint here are Open MPI's, so a
 * simulation must be compiled with the same Open MPI (melissa-config gives its flags).
 */
#ifndef MELISSA_API_H
#define MELISSA_API_H

#include <mpi.h>

#if defined(c_plusplus) || defined(__cplusplus)
extern "C" {
#endif

/* Registers field_name with local_vect_size doubles on this rank. The first call connects to
 * the Melissa server. Call it once per field, on every rank of comm, after MPI_Init. */
void melissa_init(const char *field_name,
                  const int local_vect_size,
                  MPI_Comm comm);

/* melissa_init for Fortran (what include "melissa/api.f90" binds to): the size by reference and
 * the communicator as a Fortran handle. field_name may lack a NUL: it ends at the first NUL or
 * blank, at most 255 bytes. */
void melissa_init_f(const char *field_name,
                    int *local_vect_size,
                    MPI_Fint *comm_fortran);

/* Sends the next time step of field_name: send_vect holds the registered local size of
 * doubles. A name that is not NUL-terminated (Fortran) ends at its first NUL or blank. */
void melissa_send(const char *field_name,
                  const double *send_vect);

/* Flushes every queued time step and disconnects. Call it before MPI_Finalize. */
void melissa_finalize(void);

/* Persistent clients (client_config.persistent_jobs): which simulation this job runs next.
 * Writes its parameters (at most capacity doubles) and returns how many it has, or 0 when the
 * study has nothing more for this job. Collective over comm. It finalizes the current
 * simulation if melissa_finalize was not called; the next melissa_init streams as the new one:
 *     while ((n = melissa_fetch_next_parameters(p, NP, comm)) > 0) {
 *         melissa_init("u", size, comm); ... melissa_send("u", u); ... melissa_finalize();
 *     }
 */
int melissa_fetch_next_parameters(double *parameters, int capacity, MPI_Comm comm);

/* melissa_fetch_next_parameters for Fortran: capacity by reference, a Fortran communicator. */
int melissa_fetch_next_parameters_f(double *parameters, int *capacity, MPI_Fint *comm_fortran);

/* The simulation this process streams as: the one melissa_fetch_next_parameters handed out
 * last, else MELISSA_SIMU_ID; -1 when neither is known. */
int melissa_simulation_id(void);

/* The client library's version, "major.minor.patch" (a static string). */
const char *melissa_version(void);

#if defined(c_plusplus) || defined(__cplusplus)
}
#endif

#endif /* MELISSA_API_H */
