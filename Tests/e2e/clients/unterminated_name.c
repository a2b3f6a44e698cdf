/* Calls melissa_init_f (the Fortran entry point) with a field name that has no NUL and no
 * blank in its first 300 bytes, as a Fortran literal without char(0) could: the library must
 * stop reading at its limit and fail with a message instead of reading on.
 * The name is the whole of a 300-byte heap block, so reading past it would be a heap overflow
 * (visible under a sanitizer) rather than silently landing on a terminator. */
#include <melissa/api.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    char *name = malloc(300);
    memset(name, 'x', 300);
    int size = 4;
    MPI_Fint comm = MPI_Comm_c2f(MPI_COMM_WORLD);
    melissa_init_f(name, &size, &comm);
    free(name);
    MPI_Finalize();
    return 0;
}
