#!/usr/bin/env bash
# Builds the project in release mode and installs it under a prefix (default <repo>/build):
#   bin/melissa-launcher  bin/melissa-server  bin/melissa-config  bin/heat2d... (examples)
#   lib/libmelissa.so.<version> (+ .so.<major>, .so links)  lib/libmelissaf.a  lib/pkgconfig/melissa.pc
#   lib/python/melissa_api.py  lib/python/melissa_dl/  include/melissa/api.h  include/melissa_api.h  (C, C++)
#   include/melissa/api.f90  include/melissa_api.f90  include/melissa.mod  (Fortran)
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
# The one version literal lives in the Swift sources (melissa_version() returns it).
version=$(sed -n 's/^ *public static let string = "\([0-9.]*\)".*/\1/p' "$repo/Sources/MelissaClient/LibraryVersion.swift")
[ -n "$version" ] || die "cannot read the version from Sources/MelissaClient/LibraryVersion.swift"
major=${version%%.*}

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
    # The client library is linked on its own, in its own scratch directory (so the flags below
    # do not invalidate the main build): only the C API is exported (libmelissa.map; lld, because
    # gold leaves local Swift symbols in .dynsym), unreferenced sections are dropped, and it gets
    # a SONAME so simulations record libmelissa.so.<major>.
    link_args=(-Xswiftc -use-ld=lld -Xlinker "--version-script=$repo/Sources/MelissaC/libmelissa.map"
               -Xlinker "-soname=libmelissa.so.$major" -Xlinker --gc-sections)
    if [ "$swift_runtime" = static ]; then
        # SwiftPM's --static-swift-stdlib only affects executables: for this dynamic library it is
        # silently ignored. The driver flag puts the Swift runtime inside libmelissa.so, so C
        # simulations need nothing from the toolchain at run time.
        link_args+=(-Xswiftc -static-stdlib)
    fi
    library_scratch="$repo/.build-library-$swift_runtime"
    note "swift build -c release --product melissa (${swift_runtime} Swift runtime, C API exports only)"
    swift build -c release --product melissa --scratch-path "$library_scratch" "${link_args[@]}" \
        || die "building libmelissa.so failed"
    library="$(swift build -c release --scratch-path "$library_scratch" --show-bin-path)/libmelissa.so"
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
    text=${text//@MPI_FFLAGS@/$mpi_fflags}
    text=${text//@FORTRAN_LIBS@/$fortran_libs}
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

# libmelissa.so.<version> stripped (symbol tables are half its size and nothing at run time needs
# them), and the two names that point to it: the SONAME and the link-time name.
install -m 755 "$library" "$prefix/lib/libmelissa.so.$version.tmp.$$"
strip --strip-unneeded "$prefix/lib/libmelissa.so.$version.tmp.$$"
mv -f "$prefix/lib/libmelissa.so.$version.tmp.$$" "$prefix/lib/libmelissa.so.$version"
for link in "libmelissa.so.$major" libmelissa.so; do
    ln -sfn "libmelissa.so.$version" "$prefix/lib/$link.tmp.$$"
    mv -fT "$prefix/lib/$link.tmp.$$" "$prefix/lib/$link"
done
install -d "$prefix/include/melissa"
for header in melissa/api.h melissa_api.h melissa/api.f90 melissa_api.f90; do
    install_file 644 "$repo/include/$header" "$prefix/include/$header"
done
# The Fortran module's source, for compilers other than the one that wrote include/melissa.mod.
install -d "$prefix/share/melissa/fortran"
install_file 644 "$repo/Sources/MelissaFortran/melissa.f90" "$prefix/share/melissa/fortran/melissa.f90"
# The Python module, next to the library it loads (PYTHONPATH=<prefix>/lib/python).
install -d "$prefix/lib/python"
install_file 644 "$repo/Sources/MelissaPython/melissa_api.py" "$prefix/lib/python/melissa_api.py"
# The deep-learning flavor's trainer package; melissa-server puts <prefix>/lib/python on its
# trainers' PYTHONPATH.
install -d "$prefix/lib/python/melissa_dl"
for module in "$repo"/Sources/MelissaDLPython/melissa_dl/*.py; do
  install_file 644 "$module" "$prefix/lib/python/melissa_dl/$(basename "$module")"
done

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

# Fortran: the module "melissa" (include/melissa.mod, lib/libmelissaf.a, a static archive so
# that C links naming it pull in nothing), when this machine has a working mpifort.
mpi_fflags=""
fortran_libs=""
if command -v mpifort >/dev/null 2>&1 && mpifort --version >/dev/null 2>&1; then
    fortran_work=$(mktemp -d)
    if mpifort -O2 -fPIC -c "$repo/Sources/MelissaFortran/melissa.f90" -J "$fortran_work" \
            -o "$fortran_work/melissa.o" >"$fortran_work/log" 2>&1; then
        ar rcs "$fortran_work/libmelissaf.a" "$fortran_work/melissa.o"
        install_file 644 "$fortran_work/melissa.mod" "$prefix/include/melissa.mod"
        install_file 644 "$fortran_work/libmelissaf.a" "$prefix/lib/libmelissaf.a"
        mpi_fflags=$(echo $(mpifort --showme:compile))
        fortran_libs="-lmelissaf"
    else
        cat "$fortran_work/log" >&2
        die "compiling the Fortran module (Sources/MelissaFortran/melissa.f90) failed"
    fi
    rm -rf "$fortran_work"
else
    note "warning: no working mpifort (install gfortran); the Fortran module and example are not built"
fi

# A library linked against the shared Swift runtime must find it through its own RUNPATH, which
# the Swift driver records (the toolchain's runtime directory). An rpath in the simulation would
# not do: the executable's DT_RUNPATH does not apply to its libraries' dependencies.
swift_rpath=""
if readelf -d "$prefix/lib/libmelissa.so.$version" | grep -q 'libswiftCore\.so'; then
    swift_rpath=$(swiftc -print-target-info | sed -n '/"runtimeLibraryPaths"/,/\]/s/^ *"\(\/[^"]*\)".*/\1/p' | head -n 1)
    if ! readelf -d "$prefix/lib/libmelissa.so.$version" | grep -E 'R(UN)?PATH' | grep -qF "$swift_rpath"; then
        die "libmelissa.so needs the shared Swift runtime but has no RUNPATH to $swift_rpath; build without --shared-swift-runtime"
    fi
fi

render "$repo/Scripts/melissa-config.in" "$prefix/bin/melissa-config" 755
render "$repo/Scripts/melissa.pc.in" "$prefix/lib/pkgconfig/melissa.pc" 644

# ---- examples ------------------------------------------------------------------------------
# Each Examples/<name>/ holds <name>.c (built with mpicc), <name>.f90 (built with mpifort) or
# <name>.py (copied), each with its documented command, into bin/<name>; the sources are copied
# to share/melissa/examples/<name>/.
if [ "$examples" -eq 1 ]; then
    command -v mpicc >/dev/null 2>&1 || die "mpicc not found; rerun with --no-examples to skip the examples"
    for dir in "$repo"/Examples/*/; do
        name=$(basename "$dir")
        out="$prefix/bin/$name"
        if [ -f "$dir/$name.c" ]; then
            # shellcheck disable=SC2046  # the flags must split into words
            mpicc -O2 -Wall -Wextra "$dir/$name.c" $("$prefix/bin/melissa-config" --cflags --libs) -lm -o "$out.tmp.$$"
        elif [ -f "$dir/$name.f90" ]; then
            if [ -z "$fortran_libs" ]; then note "warning: $name needs mpifort; not built"; continue; fi
            # shellcheck disable=SC2046
            mpifort -O2 -Wall "$dir/$name.f90" $("$prefix/bin/melissa-config" --fflags --libs) -o "$out.tmp.$$"
        elif [ -f "$dir/$name.py" ]; then
            install -m 755 "$dir/$name.py" "$out.tmp.$$"
        else
            continue
        fi
        mv -f "$out.tmp.$$" "$out"
        rm -rf "$prefix/share/melissa/examples/$name"
        install -d "$prefix/share/melissa/examples/$name"
        cp -R "$dir"/. "$prefix/share/melissa/examples/$name/"
        # The promise of the layout: a simulation starts without LD_LIBRARY_PATH.
        if [ ! -f "$dir/$name.py" ] && env -u LD_LIBRARY_PATH ldd "$out" | grep -q 'not found'; then
            env -u LD_LIBRARY_PATH ldd "$out" >&2
            die "$out does not find its libraries without LD_LIBRARY_PATH"
        fi
    done
fi

if [ -n "$swift_rpath" ]; then
    note "installed in $prefix (libmelissa.so uses the shared Swift runtime in $swift_rpath)"
else
    note "installed in $prefix (libmelissa.so carries the Swift runtime)"
fi
note "build a C simulation with:       mpicc sim.c \$($prefix/bin/melissa-config --cflags --libs) -o sim"
[ -z "$fortran_libs" ] || note "build a Fortran simulation with: mpifort sim.f90 \$($prefix/bin/melissa-config --fflags --libs) -o sim"
note "run a Python simulation with:   PYTHONPATH=$prefix/lib/python python3 sim.py"
