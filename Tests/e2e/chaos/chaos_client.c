/*
 * chaos_client: a synthetic MPI simulation for the chaos harness (Tests/e2e/chaos.py).
 *
 * Usage: chaos_client --steps N --cells C [--step-ms M] <p0> <p1>
 *
 * Each rank owns a contiguous slice of a global field of C cells (split as evenly as possible in
 * rank order), registers it once as "temperature", then sends N time steps. The value of global
 * cell g at step t is
 *
 *     v = p0 * sin(0.1 * (g + 1) * (t + 1)) + p1 * cos(0.05 * g) + t
 *
 * evaluated left to right in double precision (compile with -ffp-contract=off so no FMA merges
 * the products and sums); chaos.py's numpy oracle evaluates the same expression with the same
 * libm, so the values are bit-for-bit reproducible. After melissa_init the ranks never
 * synchronise (no barrier, no collective in the step loop); each sleeps --step-ms per step.
 *
 * Fault injection: env CHAOS_PLAN names a plan file (absent or empty: no faults), one fault per
 * line, "<sim> <rank> <action> <step>", '#' starts a comment:
 *   kill <k>            raise(SIGKILL) on that rank just before sending step k
 *   stop <k>            raise(SIGSTOP) on that rank just before sending step k, again after every
 *                       SIGCONT (a hang only a terminating signal ends)
 *   exit0 <k>           stop sending before step k: melissa_finalize, MPI_Finalize, exit 0
 *   finalize_crash <x>  after the last step, arm a 1 ms ITIMER_REAL whose SIGALRM handler
 *                       SIGKILLs the process, then call melissa_finalize (x is ignored)
 *   slow <k>            sleep k * 10 ms more per step (a straggler, not a fault: every attempt)
 * A fault fires only once per (simulation, rank, action): just before firing, the rank creates
 * $MELISSA_STUDY_DIR/chaos-fired.<sim>.<rank>.<action> with O_CREAT|O_EXCL; when that file
 * already exists (a rerun), the rank runs normally. The simulation id is MELISSA_SIMU_ID.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <mpi.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "melissa_api.h"

typedef struct {
    int kill_step, stop_step, exit0_step; /* -1: none */
    int finalize_crash;                   /* 0 / 1 */
    int slow_ms;                          /* extra sleep per step */
} faults;

static void die(int rank, const char *msg, const char *arg) {
    if (rank == 0) fprintf(stderr, "chaos_client: %s%s%s\n", msg, arg ? " " : "", arg ? arg : "");
    MPI_Finalize();
    exit(2);
}

static int parse_int(const char *text, int min, int *out) {
    char *end = NULL;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (errno != 0 || end == text || *end != '\0' || v < min || v > INT_MAX) return -1;
    *out = (int)v;
    return 0;
}

static int parse_double(const char *text, double *out) {
    char *end = NULL;
    errno = 0;
    double v = strtod(text, &end);
    if (errno != 0 || end == text || *end != '\0' || !isfinite(v)) return -1;
    *out = v;
    return 0;
}

/* This rank's faults from $CHAOS_PLAN (lines for other simulations or ranks are skipped). */
static faults read_plan(const char *sim, int rank) {
    faults f = {.kill_step = -1, .stop_step = -1, .exit0_step = -1, .finalize_crash = 0, .slow_ms = 0};
    const char *path = getenv("CHAOS_PLAN");
    if (path == NULL || *path == '\0' || sim == NULL) return f;
    FILE *in = fopen(path, "r");
    if (in == NULL) {
        fprintf(stderr, "chaos_client: cannot open CHAOS_PLAN %s: %s\n", path, strerror(errno));
        return f;
    }
    char line[512];
    while (fgets(line, sizeof line, in) != NULL) {
        char *hash = strchr(line, '#');
        if (hash) *hash = '\0';
        char s[64], action[64];
        int r, step;
        if (sscanf(line, "%63s %d %63s %d", s, &r, action, &step) != 4) continue;
        if (strcmp(s, sim) != 0 || r != rank) continue;
        if (strcmp(action, "kill") == 0) f.kill_step = step;
        else if (strcmp(action, "stop") == 0) f.stop_step = step;
        else if (strcmp(action, "exit0") == 0) f.exit0_step = step;
        else if (strcmp(action, "finalize_crash") == 0) f.finalize_crash = 1;
        else if (strcmp(action, "slow") == 0) f.slow_ms = step * 10;
        else fprintf(stderr, "chaos_client: unknown plan action '%s' ignored\n", action);
    }
    fclose(in);
    return f;
}

/* 1 the first time (sim, rank, action) gets here over every attempt of the study, else 0. */
static int first_time(const char *sim, int rank, const char *action) {
    const char *dir = getenv("MELISSA_STUDY_DIR");
    char path[4096];
    int n = snprintf(path, sizeof path, "%s/chaos-fired.%s.%d.%s", dir && *dir ? dir : ".", sim, rank, action);
    if (n <= 0 || (size_t)n >= sizeof path) return 0;
    int fd = open(path, O_CREAT | O_EXCL | O_WRONLY, 0644);
    if (fd < 0) return 0;
    char note[64];
    int len = snprintf(note, sizeof note, "%ld\n", (long)getpid());
    if (len > 0 && write(fd, note, (size_t)len) < 0) { /* the file's existence is what counts */ }
    fsync(fd);
    close(fd);
    fprintf(stderr, "chaos_client: simulation %s rank %d: injecting %s\n", sim, rank, action);
    return 1;
}

static void sleep_ms(int ms) {
    if (ms <= 0) return;
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
}

static void on_alarm(int sig) {
    (void)sig;
    kill(getpid(), SIGKILL);
    _exit(137);
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);

    int steps = -1, cells = -1, step_ms = 40, n_params = 0;
    double p[2] = {0, 0};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strncmp(a, "--", 2) == 0) {
            if (i + 1 >= argc) die(rank, "missing value for", a);
            const char *v = argv[++i];
            int bad;
            if (strcmp(a, "--steps") == 0) bad = parse_int(v, 1, &steps);
            else if (strcmp(a, "--cells") == 0) bad = parse_int(v, 1, &cells);
            else if (strcmp(a, "--step-ms") == 0) bad = parse_int(v, 0, &step_ms);
            else bad = 1;
            if (bad) die(rank, "bad option or value:", a);
        } else {
            if (n_params == 2 || parse_double(a, &p[n_params]) != 0) die(rank, "unexpected argument", a);
            n_params++;
        }
    }
    if (steps < 1 || cells < 1 || n_params != 2)
        die(rank, "usage: chaos_client --steps N --cells C [--step-ms M] <p0> <p1>", NULL);
    if (cells < size) die(rank, "--cells must be at least the number of ranks", NULL);

    /* Contiguous slices in rank order, as even as possible. */
    int base = cells / size, rem = cells % size;
    int local = base + (rank < rem ? 1 : 0);
    int offset = rank * base + (rank < rem ? rank : rem);

    const char *sim = getenv("MELISSA_SIMU_ID");
    faults f = read_plan(sim, rank);

    double *values = malloc(sizeof(double) * (size_t)local);
    if (values == NULL) die(rank, "out of memory", NULL);

    melissa_init("temperature", local, MPI_COMM_WORLD);
    const double p0 = p[0], p1 = p[1];
    for (int t = 0; t < steps; t++) {
        if (f.kill_step == t && first_time(sim, rank, "kill")) raise(SIGKILL);
        /* A hang, for good: stopped again if anything continues it (mpirun sends SIGCONT before
         * its SIGTERM when the job is cancelled; the rank must not then finish its steps). Only
         * a signal that terminates (the pending SIGTERM, or SIGKILL) ends it. */
        if (f.stop_step == t && first_time(sim, rank, "stop"))
            for (;;) raise(SIGSTOP);
        if (f.exit0_step == t && first_time(sim, rank, "exit0")) break;
        for (int j = 0; j < local; j++) {
            const int g = offset + j;
            values[j] = p0 * sin(0.1 * (double)(g + 1) * (double)(t + 1)) + p1 * cos(0.05 * (double)g) + (double)t;
        }
        melissa_send("temperature", values);
        sleep_ms(step_ms + f.slow_ms);
    }
    if (f.finalize_crash && first_time(sim, rank, "finalize_crash")) {
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_handler = on_alarm;
        sigemptyset(&sa.sa_mask);
        sigaction(SIGALRM, &sa, NULL);
        struct itimerval it = {.it_interval = {0, 0}, .it_value = {0, 1000}};
        setitimer(ITIMER_REAL, &it, NULL);
    }
    melissa_finalize();
    free(values);
    MPI_Finalize();
    return 0;
}
