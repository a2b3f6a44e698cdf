#ifndef MELISSA_CMPI_SHIM_H
#define MELISSA_CMPI_SHIM_H
#include <mpi.h>
/* Open MPI's handles are macros over addresses of globals, which Swift
   cannot import; these inline accessors are the only C this target adds. */
/* MPI_Fint is a macro in Open MPI (ompi_fortran_integer_t); this names it for Swift. */
typedef MPI_Fint melissa_mpi_fint;
static inline MPI_Comm melissa_mpi_comm_world(void) { return MPI_COMM_WORLD; }
static inline MPI_Comm melissa_mpi_comm_null(void) { return MPI_COMM_NULL; }
static inline MPI_Datatype melissa_mpi_double(void) { return MPI_DOUBLE; }
static inline MPI_Datatype melissa_mpi_int(void) { return MPI_INT; }
static inline MPI_Datatype melissa_mpi_long_long(void) { return MPI_LONG_LONG; }
static inline MPI_Datatype melissa_mpi_char(void) { return MPI_CHAR; }
static inline MPI_Datatype melissa_mpi_byte(void) { return MPI_BYTE; }
static inline MPI_Op melissa_mpi_sum(void) { return MPI_SUM; }
static inline MPI_Op melissa_mpi_max(void) { return MPI_MAX; }
static inline MPI_Op melissa_mpi_min(void) { return MPI_MIN; }
static inline MPI_Status *melissa_mpi_status_ignore(void) { return MPI_STATUS_IGNORE; }
static inline void *melissa_mpi_in_place(void) { return MPI_IN_PLACE; }
#endif
