/*
 * heat2d: the 2D heat equation on the unit square, streamed to a Melissa server.
 *
 *   dT/dt = alpha * (d2T/dx2 + d2T/dy2)    on (0,1) x (0,1), T = T_boundary on the edges,
 *   T(x, y, 0) = T_initial inside.
 *
 * Explicit finite differences (5-point stencil) on nx x ny interior points. The rows are split
 * over the MPI ranks (1D decomposition, one ghost row each side, exchanged with MPI_Sendrecv).
 * After each output step the rank's rows go to Melissa as the field "temperature", in row-major
 * order, so the global field is the whole grid row-major.
 *
 * Usage: heat2d [options] <T_initial> <T_boundary>     (see README.md and --help)
 * Build: mpicc heat2d.c $(melissa-config --cflags --libs) -o heat2d
 */
#include <errno.h>
#include <limits.h>
#include <math.h> /* isfinite, a macro: no -lm needed */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <melissa/api.h>

typedef struct {
    int nx, ny;        /* interior grid points along x (columns) and y (rows) */
    int steps;         /* output steps sent to Melissa */
    int substeps;      /* explicit iterations per output step (raised if needed for stability) */
    double alpha;      /* diffusion coefficient */
    double t_end;      /* physical time of the last output step */
    int use_melissa;   /* 0 with --no-melissa: same computation, nothing streamed */
    int persistent;    /* --persistent: run every simulation the server hands this job */
    double t_initial;  /* parameter 1: initial temperature of the plate */
    double t_boundary; /* parameter 2: temperature imposed on the four edges */
} options;

static void usage(FILE *out) {
    fprintf(out,
            "Usage: heat2d [options] <T_initial> <T_boundary>\n"
            "  T_initial   initial temperature of the plate (study parameter 1)\n"
            "  T_boundary  temperature held on the plate's edges (study parameter 2)\n"
            "Options:\n"
            "  --nx N        interior points along x (default 64)\n"
            "  --ny N        interior points along y, split over the ranks (default 64)\n"
            "  --steps N     output steps sent to Melissa (default 100)\n"
            "  --substeps N  explicit iterations per output step (default 250; raised if\n"
            "                needed so that dt <= 0.9 * dx^2 dy^2 / (2 alpha (dx^2 + dy^2)))\n"
            "  --alpha A     diffusion coefficient (default 1)\n"
            "  --t-end T     physical time of the last step (default 0.1)\n"
            "  --no-melissa  compute without streaming (overhead baseline)\n"
            "  --persistent  a persistent client job (client_config.persistent_jobs): run one\n"
            "                simulation after another, with the parameters the server hands\n"
            "                out (melissa_fetch_next_parameters); the arguments' are ignored\n"
            "Environment: MELISSA_SIMU_ID, MELISSA_SERVER_ADDRESS (set by the launcher);\n"
            "  HEAT2D_DUMP_DIR: also write each rank's values to\n"
            "  $HEAT2D_DUMP_DIR/heat2d.sim<MELISSA_SIMU_ID>.rank<r>.bin (float64, step-major)\n");
}

static int parse_int(const char *text, int min, int *out) {
    char *end = NULL;
    errno = 0;
    long value = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || value < min || value > INT_MAX) return -1;
    *out = (int)value;
    return 0;
}

static int parse_double(const char *text, double *out) {
    char *end = NULL;
    errno = 0;
    double value = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(value)) return -1;
    *out = value;
    return 0;
}

/* Parses argv into *o; returns 0, or prints the problem (on rank 0 only) and returns 2.
 * Every rank parses the same arguments, so they all agree on success. */
static int parse_options(int argc, char **argv, int rank, options *o) {
    *o = (options){.nx = 64, .ny = 64, .steps = 100, .substeps = 250, .alpha = 1.0,
                   .t_end = 0.1, .use_melissa = 1};
    double params[2];
    int n_params = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        /* Options start with "--", so a negative parameter such as -5 stays a parameter. */
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            if (rank == 0) usage(stdout);
            return 1;
        } else if (strcmp(a, "--no-melissa") == 0) {
            o->use_melissa = 0;
            continue;
        } else if (strcmp(a, "--persistent") == 0) {
            o->persistent = 1;
            continue;
        } else if (strncmp(a, "--", 2) != 0) {
            if (n_params == 2 || parse_double(a, &params[n_params]) != 0) {
                if (rank == 0) fprintf(stderr, "heat2d: unexpected argument '%s'\n", a);
                bad = 1;
            } else {
                n_params++;
            }
        } else if (value == NULL) {
            if (rank == 0) fprintf(stderr, "heat2d: option %s needs a value\n", a);
            bad = 1;
        } else {
            if (strcmp(a, "--nx") == 0) bad = parse_int(value, 1, &o->nx);
            else if (strcmp(a, "--ny") == 0) bad = parse_int(value, 1, &o->ny);
            else if (strcmp(a, "--steps") == 0) bad = parse_int(value, 1, &o->steps);
            else if (strcmp(a, "--substeps") == 0) bad = parse_int(value, 1, &o->substeps);
            else if (strcmp(a, "--alpha") == 0) bad = parse_double(value, &o->alpha) || o->alpha <= 0;
            else if (strcmp(a, "--t-end") == 0) bad = parse_double(value, &o->t_end) || o->t_end <= 0;
            else {
                if (rank == 0) fprintf(stderr, "heat2d: unknown option %s\n", a);
                bad = 1;
            }
            if (bad && rank == 0) fprintf(stderr, "heat2d: invalid value '%s' for %s\n", value, a);
            i++;
        }
        if (bad) {
            if (rank == 0) usage(stderr);
            return 2;
        }
    }
    if (n_params != 2) {
        if (rank == 0) {
            fprintf(stderr, "heat2d: expected 2 parameters (T_initial T_boundary), got %d\n", n_params);
            usage(stderr);
        }
        return 2;
    }
    o->t_initial = params[0];
    o->t_boundary = params[1];
    return 0;
}

/* Opens this rank's dump file when HEAT2D_DUMP_DIR is set (NULL otherwise). Truncated, so a
 * simulation run again under the same id leaves only its last run's values. */
static FILE *open_dump(int rank, int id) {
    const char *dir = getenv("HEAT2D_DUMP_DIR");
    if (dir == NULL || *dir == '\0') return NULL;
    char path[4096];
    int n = id >= 0 ? snprintf(path, sizeof path, "%s/heat2d.sim%d.rank%d.bin", dir, id, rank)
                    : snprintf(path, sizeof path, "%s/heat2d.simnone.rank%d.bin", dir, rank);
    FILE *f = (n > 0 && (size_t)n < sizeof path) ? fopen(path, "wb") : NULL;
    if (f == NULL) {
        fprintf(stderr, "heat2d: cannot open the dump file in '%s': %s\n", dir, strerror(errno));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    return f;
}

/* The simulation being run: Melissa's (MELISSA_SIMU_ID, or the one a persistent job fetched),
 * or, without Melissa, MELISSA_SIMU_ID if set; -1 when unknown. */
static int simulation_id(const options *o) {
    if (o->use_melissa) return melissa_simulation_id();
    const char *id = getenv("MELISSA_SIMU_ID");
    return id != NULL && *id != '\0' ? atoi(id) : -1;
}

/* One simulation with the parameters in o: computes, streams, and dumps if asked. */
static void simulate(options o, int rank, int size) {
    /* Rows split as evenly as possible: the first ny % size ranks get one more. */
    const int nx = o.nx;
    const int local_ny = o.ny / size + (rank < o.ny % size ? 1 : 0);
    const int up = rank > 0 ? rank - 1 : MPI_PROC_NULL;
    const int down = rank < size - 1 ? rank + 1 : MPI_PROC_NULL;

    /* Explicit Euler is stable for dt <= dx^2 dy^2 / (2 alpha (dx^2 + dy^2)) (= dx^2/(4 alpha)
     * on a square grid); the 0.9 keeps a margin. More substeps only shrink dt. */
    const double dx = 1.0 / (o.nx + 1), dy = 1.0 / (o.ny + 1);
    const double dt_max = 0.9 * dx * dx * dy * dy / (2.0 * o.alpha * (dx * dx + dy * dy));
    int substeps = o.substeps;
    double per_step = o.t_end / o.steps;
    /* Truncate and add one rather than ceil(): keeps the documented compile command free of -lm. */
    if (per_step / substeps > dt_max) substeps = (int)(per_step / dt_max) + 1;
    const double dt = per_step / substeps;
    const double rx = o.alpha * dt / (dx * dx), ry = o.alpha * dt / (dy * dy);

    /* Rows 0 and local_ny + 1 are ghosts. At the top and bottom of the plate they hold the
     * boundary temperature for good: MPI_Sendrecv with MPI_PROC_NULL leaves them untouched. */
    const size_t cells = (size_t)(local_ny + 2) * (size_t)nx;
    double *u = malloc(cells * sizeof *u);
    double *v = malloc(cells * sizeof *v);
    if (u == NULL || v == NULL) {
        fprintf(stderr, "heat2d: out of memory for %zu cells\n", cells);
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    for (size_t k = 0; k < cells; k++) u[k] = v[k] = o.t_initial;
    for (int j = 0; j < nx; j++) {
        if (up == MPI_PROC_NULL) u[j] = v[j] = o.t_boundary;
        if (down == MPI_PROC_NULL) u[(size_t)(local_ny + 1) * nx + j] = v[(size_t)(local_ny + 1) * nx + j] = o.t_boundary;
    }

    if (o.use_melissa) melissa_init("temperature", local_ny * nx, MPI_COMM_WORLD);
    FILE *dump = open_dump(rank, simulation_id(&o));

    const double tb = o.t_boundary;
    double start = MPI_Wtime();
    for (int step = 0; step < o.steps; step++) {
        for (int s = 0; s < substeps; s++) {
            /* First own row up / last own row down; ghosts filled from the neighbours. */
            MPI_Sendrecv(&u[nx], nx, MPI_DOUBLE, up, 0, &u[(size_t)(local_ny + 1) * nx], nx, MPI_DOUBLE, down, 0,
                         MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            MPI_Sendrecv(&u[(size_t)local_ny * nx], nx, MPI_DOUBLE, down, 1, &u[0], nx, MPI_DOUBLE, up, 1,
                         MPI_COMM_WORLD, MPI_STATUS_IGNORE);
            for (int i = 1; i <= local_ny; i++) {
                const double *row = &u[(size_t)i * nx], *above = row - nx, *below = row + nx;
                double *out = &v[(size_t)i * nx];
                for (int j = 0; j < nx; j++) {
                    const double left = j > 0 ? row[j - 1] : tb;
                    const double right = j < nx - 1 ? row[j + 1] : tb;
                    out[j] = row[j] + rx * (left - 2.0 * row[j] + right) + ry * (above[j] - 2.0 * row[j] + below[j]);
                }
            }
            double *swap = u;
            u = v;
            v = swap;
        }
        if (o.use_melissa) melissa_send("temperature", &u[nx]);
        if (dump != NULL && fwrite(&u[nx], sizeof(double), (size_t)local_ny * nx, dump) != (size_t)local_ny * nx) {
            fprintf(stderr, "heat2d: writing the dump file failed: %s\n", strerror(errno));
            MPI_Abort(MPI_COMM_WORLD, 1);
        }
    }
    double compute = MPI_Wtime() - start;

    /* Flushing what melissa_send queued is timed apart from the loop (0 without Melissa). */
    start = MPI_Wtime();
    if (o.use_melissa) melissa_finalize();
    double finalize = MPI_Wtime() - start;
    if (dump != NULL && fclose(dump) != 0) {
        fprintf(stderr, "heat2d: closing the dump file failed: %s\n", strerror(errno));
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    if (rank == 0) {
        const int id = simulation_id(&o);
        printf("heat2d: simulation %d: %dx%d grid on %d rank(s), %d steps x %d substeps (dt %.3g, t_end %.3g), "
               "T_initial %g, T_boundary %g, %s, %.3f s, finalize %.3f s\n",
               id, o.nx, o.ny, size, o.steps, substeps, dt, o.t_end, o.t_initial, o.t_boundary,
               o.use_melissa ? "streamed" : "not streamed", compute, finalize);
    }
    free(u);
    free(v);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    options o;
    int status = parse_options(argc, argv, rank, &o);
    if (status == 0 && o.ny < size) {
        if (rank == 0) fprintf(stderr, "heat2d: --ny %d is smaller than the %d ranks\n", o.ny, size);
        status = 2;
    }
    if (status != 0) {
        MPI_Finalize();
        return status == 1 ? 0 : status;
    }
    if (o.persistent && o.use_melissa) {
        /* A persistent job: simulation after simulation, until the server has no more. */
        double parameters[2];
        int n;
        while ((n = melissa_fetch_next_parameters(parameters, 2, MPI_COMM_WORLD)) > 0) {
            o.t_initial = parameters[0];
            o.t_boundary = parameters[1];
            simulate(o, rank, size);
        }
    } else {
        simulate(o, rank, size);
    }
    MPI_Finalize();
    return 0;
}

