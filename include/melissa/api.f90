! melissa/api.f90 - the Melissa client API for Fortran simulations (fixed or free form).
!
! The same interface as INRIA Melissa's include file, so simulations instrumented for Melissa
! build unchanged:
!     include "mpif.h"
!     include "melissa/api.f90"        (or the older name "melissa_api.f90")
!     call melissa_init("temperature"//char(0), n, MPI_COMM_WORLD)
!     call melissa_send("temperature"//char(0), values)
!     call melissa_finalize()
! Build:  mpifort sim.f90 $(melissa-config --fflags --libs) -o sim
!
! A field name ends at its first NUL or blank, so a blank-padded character variable works
! without char(0); a literal without char(0) does not (Fortran passes no terminator). New
! codes can "use melissa" instead, which adds the terminator itself. See docs/CLIENT.md.

interface

subroutine melissa_init(field_name, local_vect_size, comm) bind(c, name = 'melissa_init_f')
    use iso_c_binding, only: c_int, c_char
    character(kind=c_char), dimension(*) :: field_name
    integer(kind=c_int) :: local_vect_size
    integer(kind=c_int) :: comm
end subroutine melissa_init

subroutine melissa_send(field_name, send_vect) bind(c, name = 'melissa_send')
    use iso_c_binding, only: c_double, c_char
    character(kind=c_char), dimension(*) :: field_name
    real(kind=c_double), dimension(*) :: send_vect
end subroutine melissa_send

subroutine melissa_finalize() bind(c, name = 'melissa_finalize')
end subroutine melissa_finalize

! Persistent clients: the next simulation's parameters; returns their number, 0 when done.
function melissa_fetch_next_parameters(parameters, capacity, comm) bind(c, name='melissa_fetch_next_parameters_f')
    use iso_c_binding, only: c_int, c_double
    real(kind=c_double), dimension(*) :: parameters
    integer(kind=c_int) :: capacity
    integer(kind=c_int) :: comm
    integer(kind=c_int) :: melissa_fetch_next_parameters
end function melissa_fetch_next_parameters

! The simulation this process streams as (MELISSA_SIMU_ID or the last one fetched); -1 if none.
function melissa_simulation_id() bind(c, name = 'melissa_simulation_id')
    use iso_c_binding, only: c_int
    integer(kind=c_int) :: melissa_simulation_id
end function melissa_simulation_id

end interface

! Melissa's coupling constants, accepted for compatibility; only ZeroMQ coupling exists.
integer, parameter :: MELISSA_COUPLING_NONE = 0
integer, parameter :: MELISSA_COUPLING_ZMQ = 0
integer, parameter :: MELISSA_COUPLING_DEFAULT = MELISSA_COUPLING_ZMQ
integer, parameter :: MELISSA_COUPLING_MPI = 1
