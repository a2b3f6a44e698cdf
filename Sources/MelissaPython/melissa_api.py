"""melissa_api: the Melissa client API for Python simulations.

The same three functions as INRIA Melissa's `melissa_api` module, so Python simulations
instrumented for Melissa run unchanged:

    from mpi4py import MPI
    import numpy as np
    import melissa_api

    melissa_api.melissa_init("temperature", values.size, MPI.COMM_WORLD)   # collective
    melissa_api.melissa_send("temperature", values)       # float64, C-contiguous, not copied
    melissa_api.melissa_finalize()                         # collective, before MPI ends

Persistent clients (client_config.persistent_jobs) loop over simulations:

    while (params := melissa_api.melissa_fetch_next_parameters(MPI.COMM_WORLD)) is not None:
        ...  # melissa_init, melissa_send, melissa_finalize with these parameters

It calls libmelissa.so (the C library) through ctypes. Scripts/build.sh installs this file in
<prefix>/lib/python, next to <prefix>/lib/libmelissa.so which it loads; make it importable with
PYTHONPATH=<prefix>/lib/python (`melissa-config --pythonpath` prints the directory).

mpi4py must be built against the Open MPI libmelissa.so links (Scripts/install-deps.sh mpi4py
compiles it from source with mpicc): the communicator crosses as its Fortran handle
(`comm.py2f()`), which only means the same thing inside one MPI library.

Arrays are passed by address, never copied: `send_vect` must be a NumPy array of float64 in
native byte order, C-contiguous, with exactly the registered number of values. Anything else is
refused with TypeError (wrong type or dtype) or ValueError (layout or size) before any data
leaves; convert once with `np.ascontiguousarray(x, dtype=np.float64)`. A failure inside the
library prints "melissa: <reason>" and aborts the MPI job, as in C. See docs/CLIENT.md.
"""

import ctypes
import os

import numpy as np

__all__ = ["melissa_init", "melissa_send", "melissa_finalize", "melissa_version", "melissa_fetch_next_parameters",
           "melissa_simulation_id"]

# The study's limit on field names (study_options.field_names), in UTF-8 bytes.
_MAX_FIELD_NAME_BYTES = 255
# The most parameters a server may send for one simulation (the protocol's limit).
_MAX_PARAMETERS = 65536
_LIBRARY_PATH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "libmelissa.so")


def _load():
    if not os.path.exists(_LIBRARY_PATH):
        raise ImportError(f"melissa_api: libmelissa.so not found at {_LIBRARY_PATH}; this module must stay "
                          "in <prefix>/lib/python as Scripts/build.sh installs it")
    library = ctypes.CDLL(_LIBRARY_PATH)
    library.melissa_init_f.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.POINTER(ctypes.c_int)]
    library.melissa_init_f.restype = None
    library.melissa_send.argtypes = [ctypes.c_char_p, ctypes.c_void_p]
    library.melissa_send.restype = None
    library.melissa_finalize.argtypes = []
    library.melissa_finalize.restype = None
    library.melissa_fetch_next_parameters_f.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_int),
                                                        ctypes.POINTER(ctypes.c_int)]
    library.melissa_fetch_next_parameters_f.restype = ctypes.c_int
    library.melissa_simulation_id.argtypes = []
    library.melissa_simulation_id.restype = ctypes.c_int
    library.melissa_version.argtypes = []
    library.melissa_version.restype = ctypes.c_char_p
    return library


_library = _load()
# Registered local sizes by encoded name: checked in Python, so a wrong array raises instead of
# letting the library read past its end.
_sizes = {}


def _encoded_name(field_name):
    if not isinstance(field_name, str):
        raise TypeError(f"field_name must be a str, got {type(field_name).__name__}")
    name = field_name.encode("utf-8")
    if not name:
        raise ValueError("field_name must not be empty")
    if b"\0" in name or b" " in name:
        raise ValueError(f"field_name {field_name!r} must not contain NUL or blanks")
    if len(name) > _MAX_FIELD_NAME_BYTES:
        raise ValueError(f"field_name is {len(name)} bytes in UTF-8; at most {_MAX_FIELD_NAME_BYTES} allowed")
    return name


def melissa_init(field_name, local_vect_size, comm):
    """Registers `field_name` with `local_vect_size` float64 values on this rank; collective over
    `comm` (an mpi4py communicator). The first call connects to the Melissa server."""
    name = _encoded_name(field_name)
    if isinstance(local_vect_size, bool) or not isinstance(local_vect_size, (int, np.integer)):
        raise TypeError(f"local_vect_size must be an int, got {type(local_vect_size).__name__}")
    if not 0 <= int(local_vect_size) <= 2**31 - 1:
        raise ValueError(f"local_vect_size must be in [0, 2**31 - 1], got {local_vect_size}")
    py2f = getattr(comm, "py2f", None)
    if py2f is None:
        raise TypeError(f"comm must be an mpi4py communicator, got {type(comm).__name__}")
    if name in _sizes:
        raise ValueError(f"field {field_name!r} is already registered")
    size = ctypes.c_int(int(local_vect_size))
    handle = ctypes.c_int(py2f())
    _library.melissa_init_f(name, ctypes.byref(size), ctypes.byref(handle))
    _sizes[name] = int(local_vect_size)


def melissa_send(field_name, send_vect):
    """Sends the next time step of `field_name`: `send_vect` is a C-contiguous float64 NumPy
    array with the registered number of values, passed by address (not copied)."""
    name = _encoded_name(field_name)
    if not isinstance(send_vect, np.ndarray):
        raise TypeError(f"send_vect must be a numpy.ndarray of float64, got {type(send_vect).__name__}")
    if send_vect.dtype != np.dtype("=f8"):
        raise TypeError(f"send_vect must have dtype float64 in native byte order, got {send_vect.dtype.str} "
                        "(convert once with np.ascontiguousarray(x, dtype=np.float64))")
    if not send_vect.flags.c_contiguous:
        raise ValueError("send_vect must be C-contiguous (it is sent in place, never copied); "
                         "pass np.ascontiguousarray(x)")
    expected = _sizes.get(name)
    if expected is None:
        registered = ", ".join(repr(n.decode()) for n in _sizes) or "none"
        raise ValueError(f"field {field_name!r} was not registered with melissa_init (registered: {registered})")
    if send_vect.size != expected:
        raise ValueError(f"send_vect holds {send_vect.size} values but field {field_name!r} was registered "
                         f"with {expected}")
    _library.melissa_send(name, send_vect.ctypes.data)


def melissa_finalize():
    """Flushes the queued time steps and disconnects; collective, call it before MPI ends."""
    _library.melissa_finalize()
    _sizes.clear()


def melissa_fetch_next_parameters(comm):
    """Persistent clients: the parameters of the simulation this job runs next, as a float64
    NumPy array, or None when the study has nothing more for it. Collective over `comm`. The
    current simulation is finalized first; the next melissa_init streams as the new one."""
    py2f = getattr(comm, "py2f", None)
    if py2f is None:
        raise TypeError(f"comm must be an mpi4py communicator, got {type(comm).__name__}")
    buffer = np.empty(_MAX_PARAMETERS, dtype=np.float64)
    capacity = ctypes.c_int(_MAX_PARAMETERS)
    handle = ctypes.c_int(py2f())
    count = _library.melissa_fetch_next_parameters_f(buffer.ctypes.data, ctypes.byref(capacity), ctypes.byref(handle))
    _sizes.clear()
    return buffer[:count].copy() if count > 0 else None


def melissa_simulation_id():
    """The simulation this process streams as (MELISSA_SIMU_ID, or the last one fetched); -1 if none."""
    return int(_library.melissa_simulation_id())


def melissa_version():
    """The client library's version, "major.minor.patch"."""
    return _library.melissa_version().decode()
