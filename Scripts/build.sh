#!/usr/bin/env bash
# Builds the project in release mode and installs it under a prefix (default <repo>/build):
#   bin/melissa-launcher  bin/melissa-server  bin/melissa-config  bin/heat2d (examples)
#   lib/libmelissa.so  lib/pkgconfig/melissa.pc  include/melissa_api.h
#   share/melissa/ClientTemplates/  share/melissa/examples/<name>/
# Idempotent: a rerun rebuilds incrementally and replaces the installed files.
# Then:  mpicc sim.c $(<prefix>/bin/melissa-config --cflags --libs) -o sim
set -euo pipefail
# Bash 5.2 expands '&' in ${var//pattern/replacement}; the templates below need it literal.
shopt -u patsub_replacement 2>/dev/null || true

usage() {
    cat <<'USAGE'
Usage: Scripts/build.sh [--prefix DIR] [options]
  --prefix DIR            install prefix (default: <repo>/build)
  --shared-swift-runtime  link libmelissa.so against the toolchain's shared Swift runtime instead of
                          carrying it statically (smaller library, but simulations then need the
                          Swift toolchain installed at the same path on every compute node)
  --no-build              install from an existing build, given with --bin-dir
  --bin-dir DIR           the SwiftPM bin directory to install from (with --no-build)
  --client-only           install only the client side (library, header, melissa-config, examples)
  --no-examples           do not build the examples
  --target-cpu CPU        build for CPU ('native' = this machine, or an LLVM name such as haswell,
                          icelake-server, znver4; default: the generic x86-64 baseline, which runs on
                          any node). The statistics kernels are about 15 % faster with AVX2
                          (docs/PERFORMANCE.md); only use it when every node that runs the server
                          has that CPU. The client library stays generic unless
                          built with --shared-swift-runtime.
  -h, --help              this help
USAGE
}

die() { echo "build.sh: error: $*" >&2; exit 1; }
note() { echo "build.sh: $*"; }

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
prefix="$repo/build"
swift_runtime=static
build=1
bin_dir=""
client_only=0
examples=1
target_cpu=""
version="0.1.0"

while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) [ $# -ge 2 ] || die "--prefix needs a directory"; prefix=$2; shift 2 ;;
        --prefix=*) prefix=${1#*=}; shift ;;
        --shared-swift-runtime) swift_runtime=shared; shift ;;
        --no-build) build=0; shift ;;
        --bin-dir) [ $# -ge 2 ] || die "--bin-dir needs a directory"; bin_dir=$2; shift 2 ;;
        --bin-dir=*) bin_dir=${1#*=}; shift ;;
        --client-only) client_only=1; shift ;;
        --no-examples) examples=0; shift ;;
        --target-cpu) [ $# -ge 2 ] || die "--target-cpu needs a CPU name"; target_cpu=$2; shift 2 ;;
        --target-cpu=*) target_cpu=${1#*=}; shift ;;
        -h|--help) usage; exit 0 ;;
        *) usage >&2; die "unknown option '$1'" ;;
    esac
done

mkdir -p "$prefix"
prefix=$(cd "$prefix" && pwd)

# ---- build ---------------------------------------------------------------------------------
if [ "$build" -eq 1 ]; then
    cd "$repo"
    # A CPU-specific build has its own scratch directory: SwiftPM does not rebuild objects when
    # only -Xswiftc flags change, and the generic build must stay generic.
    cpu_args=()
    if [ -n "$target_cpu" ]; then
        cpu_args=(--scratch-path "$repo/.build-cpu-$target_cpu" -Xswiftc -target-cpu -Xswiftc "$target_cpu")
    fi
    note "swift build -c release ${cpu_args[*]}"
    swift build -c release "${cpu_args[@]}" || die "swift build failed${target_cpu:+ (if '$target_cpu' is not a CPU name swiftc knows, it listed the valid ones above)}"
    bin_dir=$(swift build -c release --show-bin-path "${cpu_args[@]}")
    library="$bin_dir/libmelissa.so"
    if [ "$swift_runtime" = static ]; then
        # SwiftPM's --static-swift-stdlib only affects executables: for this dynamic library it is
        # silently ignored. The driver flag puts the Swift runtime inside libmelissa.so, so C
        # simulations need nothing from the toolchain at run time. Its own scratch path keeps the
        # two configurations from invalidating each other's incremental builds.
        static_scratch="$repo/.build-static-runtime"
        note "swift build -c release --product melissa -Xswiftc -static-stdlib"
        swift build -c release --product melissa --scratch-path "$static_scratch" -Xswiftc -static-stdlib
        library="$(swift build -c release --scratch-path "$static_scratch" --show-bin-path)/libmelissa.so"
    fi
else
    [ -n "$bin_dir" ] || die "--no-build needs --bin-dir DIR"
    library="$bin_dir/libmelissa.so"
fi
[ -f "$library" ] || die "no libmelissa.so at $library"

# ---- install -------------------------------------------------------------------------------
# Copy then rename: replacing a library in place would crash a simulation that has it mapped.
install_file() { # mode source destination
    install -m "$1" "$2" "$3.tmp.$$"
    mv -f "$3.tmp.$$" "$3"
}

# Replaces @KEY@ markers of a template with the values of the matching variables below.
render() { # template destination mode
    local text
    text=$(cat "$1")
    text=${text//@PREFIX@/$prefix}
    text=${text//@VERSION@/$version}
    text=${text//@MPI_CFLAGS@/$mpi_cflags}
    text=${text//@MPI_LIBS@/$mpi_libs}
    printf '%s\n' "$text" >"$2.tmp.$$"
    chmod "$3" "$2.tmp.$$"
    mv -f "$2.tmp.$$" "$2"
}

install -d "$prefix/bin" "$prefix/lib/pkgconfig" "$prefix/include" "$prefix/share/melissa"

if [ "$client_only" -eq 0 ]; then
    for exe in melissa-launcher melissa-server; do
        if [ -f "$bin_dir/$exe" ]; then
            install_file 755 "$bin_dir/$exe" "$prefix/bin/$exe"
        else
            note "warning: $exe was not built; not installed"
        fi
    done
    if [ -d "$repo/ClientTemplates" ]; then
        rm -rf "$prefix/share/melissa/ClientTemplates"
        cp -R "$repo/ClientTemplates" "$prefix/share/melissa/ClientTemplates"
    fi
fi

install_file 755 "$library" "$prefix/lib/libmelissa.so"
install_file 644 "$repo/include/melissa_api.h" "$prefix/include/melissa_api.h"

# MPI flags are recorded now, so a simulation compiles against the MPI libmelissa.so links.
if pkg-config --exists ompi 2>/dev/null; then
    mpi_cflags=$(pkg-config --cflags ompi)
    mpi_libs=$(pkg-config --libs ompi)
elif command -v mpicc >/dev/null 2>&1; then
    mpi_cflags=$(mpicc --showme:compile)
    mpi_libs=$(mpicc --showme:link)
else
    die "cannot find MPI's flags: neither 'pkg-config ompi' nor mpicc is available"
fi
mpi_cflags=$(echo $mpi_cflags)
mpi_libs=$(echo $mpi_libs)

# A library linked against the shared Swift runtime must find it through its own RUNPATH, which
# the Swift driver records (the toolchain's runtime directory). An rpath in the simulation would
# not do: the executable's DT_RUNPATH does not apply to its libraries' dependencies.
swift_rpath=""
if readelf -d "$prefix/lib/libmelissa.so" | grep -q 'libswiftCore\.so'; then
    swift_rpath=$(swiftc -print-target-info | sed -n '/"runtimeLibraryPaths"/,/\]/s/^ *"\(\/[^"]*\)".*/\1/p' | head -n 1)
    if ! readelf -d "$prefix/lib/libmelissa.so" | grep -E 'R(UN)?PATH' | grep -qF "$swift_rpath"; then
        die "libmelissa.so needs the shared Swift runtime but has no RUNPATH to $swift_rpath; build without --shared-swift-runtime"
    fi
fi

render "$repo/Scripts/melissa-config.in" "$prefix/bin/melissa-config" 755
render "$repo/Scripts/melissa.pc.in" "$prefix/lib/pkgconfig/melissa.pc" 644

# ---- examples ------------------------------------------------------------------------------
# Each Examples/<name>/<name>.c is built with the documented command into bin/<name>, and its
# sources are copied to share/melissa/examples/<name>/.
if [ "$examples" -eq 1 ]; then
    command -v mpicc >/dev/null 2>&1 || die "mpicc not found; rerun with --no-examples to skip the examples"
    for dir in "$repo"/Examples/*/; do
        name=$(basename "$dir")
        [ -f "$dir/$name.c" ] || continue
        rm -rf "$prefix/share/melissa/examples/$name"
        install -d "$prefix/share/melissa/examples/$name"
        cp -R "$dir"/. "$prefix/share/melissa/examples/$name/"
        # shellcheck disable=SC2046  # the flags must split into words
        mpicc -O2 -Wall -Wextra "$dir/$name.c" $("$prefix/bin/melissa-config" --cflags --libs) -lm \
            -o "$prefix/bin/$name.tmp.$$"
        mv -f "$prefix/bin/$name.tmp.$$" "$prefix/bin/$name"
        # The promise of the layout: a simulation starts without LD_LIBRARY_PATH.
        if env -u LD_LIBRARY_PATH ldd "$prefix/bin/$name" | grep -q 'not found'; then
            env -u LD_LIBRARY_PATH ldd "$prefix/bin/$name" >&2
            die "$prefix/bin/$name does not find its libraries without LD_LIBRARY_PATH"
        fi
    done
fi

if [ -n "$swift_rpath" ]; then
    note "installed in $prefix (libmelissa.so uses the shared Swift runtime in $swift_rpath)"
else
    note "installed in $prefix (libmelissa.so carries the Swift runtime)"
fi
note "build a C simulation with: mpicc sim.c \$($prefix/bin/melissa-config --cflags --libs) -o sim"
