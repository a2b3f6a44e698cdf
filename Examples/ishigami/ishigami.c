/*
 * ishigami: the Ishigami function as a Melissa simulation, the standard test of Sobol indices.
 *
 *   Y = sin(X1) + a sin^2(X2) + b X3^4 sin(X1),   X1, X2, X3 uniform in [-pi, pi]
 *
 * With a = 7 and b = 0.1 the indices are known analytically (see README.md):
 *   S1 = 0.3139, S2 = 0.4424, S3 = 0, ST1 = 0.5576, ST2 = 0.4424, ST3 = 0.2437.
 *
 * The field "y" has --cells cells, split over the MPI ranks; cell c of step t holds
 * (t + 1) * Y + c, so each cell and step has the same Sobol indices (neither scaling nor
 * shifting changes them). With --with-z a second field "z" = (t + 1) * Z + c is sent too,
 * Z = X1 + X2 * X3, for covariance between fields.
 *
 * Usage: ishigami [--cells N] [--steps N] [--a A] [--b B] [--with-z] <X1> <X2> <X3>
 * Build: mpicc ishigami.c $(melissa-config --cflags --libs) -lm -o ishigami
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "melissa_api.h"

static void usage(FILE *out) {
    fprintf(out,
            "Usage: ishigami [options] <X1> <X2> <X3>\n"
            "  X1 X2 X3   the inputs, normally uniform in [-pi, pi] (the study parameters)\n"
            "Options:\n"
            "  --cells N  cells of the field \"y\", split over the ranks (default 4)\n"
            "  --steps N  time steps sent; cell c of step t holds (t + 1) * Y + c (default 2)\n"
            "  --with-z   also send the field \"z\": (t + 1) * (X1 + X2 X3) + c\n"
            "  --a A      coefficient a (default 7)\n"
            "  --b B      coefficient b (default 0.1)\n"
            "Environment: MELISSA_SIMU_ID, MELISSA_SERVER_ADDRESS (set by the launcher).\n");
}

static int parse_double(const char *text, double *out) {
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(value)) return -1;
    *out = value;
    return 0;
}

static int parse_int(const char *text, int *out) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < 1 || value > INT_MAX) return -1;
    *out = (int)value;
    return 0;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    int cells = 4, steps = 2, n_x = 0, with_z = 0;
    double a = 7.0, b = 0.1, x[3];
    for (int i = 1; i < argc; i++) {
        const char *arg = argv[i];
        int bad = 0;
        if (strcmp(arg, "--help") == 0) {
            if (rank == 0) usage(stdout);
            MPI_Finalize();
            return 0;
        } else if (strcmp(arg, "--with-z") == 0) {
            with_z = 1;
        } else if (strncmp(arg, "--", 2) == 0) {
            const char *value = i + 1 < argc ? argv[++i] : NULL;
            if (value == NULL) bad = 1;
            else if (strcmp(arg, "--cells") == 0) bad = parse_int(value, &cells);
            else if (strcmp(arg, "--steps") == 0) bad = parse_int(value, &steps);
            else if (strcmp(arg, "--a") == 0) bad = parse_double(value, &a);
            else if (strcmp(arg, "--b") == 0) bad = parse_double(value, &b);
            else bad = 1;
        } else if (n_x == 3 || parse_double(arg, &x[n_x++]) != 0) {
            bad = 1;
        }
        if (bad) {
            if (rank == 0) {
                fprintf(stderr, "ishigami: bad argument '%s'\n", arg);
                usage(stderr);
            }
            MPI_Finalize();
            return 2;
        }
    }
    if (n_x != 3) {
        if (rank == 0) {
            fprintf(stderr, "ishigami: expected 3 inputs (X1 X2 X3), got %d\n", n_x);
            usage(stderr);
        }
        MPI_Finalize();
        return 2;
    }

    const double s1 = sin(x[0]), s2 = sin(x[1]), x3sq = x[2] * x[2];
    const double y = s1 + a * s2 * s2 + b * x3sq * x3sq * s1;
    const double z = x[0] + x[1] * x[2];
    /* The first cells % size ranks hold one more cell. */
    const int local = cells / size + (rank < cells % size ? 1 : 0);
    const int first = rank * (cells / size) + (rank < cells % size ? rank : cells % size);
    double *values = malloc((size_t)(local > 0 ? local : 1) * sizeof *values);
    if (values == NULL) {
        fprintf(stderr, "ishigami: out of memory\n");
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    melissa_init("y", local, MPI_COMM_WORLD);
    if (with_z) melissa_init("z", local, MPI_COMM_WORLD);
    for (int t = 0; t < steps; t++) {
        for (int c = 0; c < local; c++) values[c] = (t + 1) * y + (first + c);
        melissa_send("y", values);
        if (with_z) {
            for (int c = 0; c < local; c++) values[c] = (t + 1) * z + (first + c);
            melissa_send("z", values);
        }
    }
    melissa_finalize();
    free(values);
    MPI_Finalize();
    return 0;
}
