// A C++ simulation for the end-to-end tests: includes <melissa/api.h> from a C++ translation
// unit (extern "C" linkage), streams an analytic field and dumps what it sent for the oracle.
//   cpp_client <steps> <cells per rank> <p0> <p1>
// Value of global cell g at step s: p0 * (g + 1) + p1 * s. Dump: $HEAT2D_DUMP_DIR/
// heat2d.sim<id>.rank<r>.bin (float64, step-major), the layout the tests' load_dumps reads; rank 0
// writes melissa_version() to $HEAT2D_DUMP_DIR/version.txt.
#include <melissa/api.h>
#include <melissa_api.h>  // the older name: must be harmless next to the new one

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (argc != 5) {
        if (rank == 0) std::fprintf(stderr, "usage: cpp_client <steps> <cells per rank> <p0> <p1>\n");
        MPI_Finalize();
        return 2;
    }
    const int steps = std::atoi(argv[1]);
    const int cells = std::atoi(argv[2]);
    const double p0 = std::atof(argv[3]), p1 = std::atof(argv[4]);
    std::vector<double> values(static_cast<size_t>(cells));
    const std::string field = "temperature";
    melissa_init(field.c_str(), cells, MPI_COMM_WORLD);

    std::ofstream dump;
    if (const char *dir = std::getenv("HEAT2D_DUMP_DIR")) {
        const char *id = std::getenv("MELISSA_SIMU_ID");
        dump.open(std::string(dir) + "/heat2d.sim" + (id ? id : "none") + ".rank" + std::to_string(rank) + ".bin",
                  std::ios::binary | std::ios::trunc);
    }
    for (int s = 0; s < steps; ++s) {
        for (int i = 0; i < cells; ++i) values[i] = p0 * (rank * cells + i + 1) + p1 * s;
        melissa_send(field.c_str(), values.data());
        if (dump) dump.write(reinterpret_cast<const char *>(values.data()), static_cast<std::streamsize>(values.size() * sizeof(double)));
    }
    melissa_finalize();
    if (rank == 0 && std::getenv("HEAT2D_DUMP_DIR")) {
        std::ofstream(std::string(std::getenv("HEAT2D_DUMP_DIR")) + "/version.txt") << melissa_version() << "\n";
    }
    MPI_Finalize();
    return 0;
}
