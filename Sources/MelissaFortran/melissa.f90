! melissa.f90 - the module "melissa": the Melissa client API for new Fortran codes.
!
!     use melissa
!     call melissa_init("temperature", n, MPI_COMM_WORLD)     ! integer handle (use mpi)
!     call melissa_init("temperature", n, comm)               ! or type(MPI_Comm) (use mpi_f08)
!     call melissa_send("temperature", values)
!     call melissa_finalize()
!     print *, melissa_version()
!     do while (melissa_fetch_next_parameters(params, comm) > 0)   ! persistent clients
!         ... melissa_init, melissa_send, melissa_finalize with params ...
!     end do
!
! Unlike the include file "melissa/api.f90" (Melissa's interface, kept for existing codes), names
! need no char(0): trailing blanks are trimmed and the terminator is added here. Scripts/build.sh
! compiles it into include/melissa.mod and lib/libmelissaf.a; melissa-config --fflags --libs
! gives both. A .mod file is specific to the compiler that wrote it (gfortran here).
module melissa
    use, intrinsic :: iso_c_binding, only: c_char, c_int, c_double, c_null_char, c_ptr, &
        c_associated, c_f_pointer
    use mpi_f08, only: MPI_Comm
    implicit none
    private

    public :: melissa_init, melissa_send, melissa_finalize, melissa_version, melissa_fetch_next_parameters, &
        melissa_simulation_id

    !> Registers a field (collective over the communicator); the first call connects.
    interface melissa_init
        module procedure melissa_init_handle, melissa_init_f08
    end interface melissa_init

    !> Persistent clients: the next simulation's parameters (collective); 0 when none is left.
    interface melissa_fetch_next_parameters
        module procedure melissa_fetch_next_handle, melissa_fetch_next_f08
    end interface melissa_fetch_next_parameters

    interface
        function c_melissa_fetch_next_parameters_f(parameters, capacity, comm) &
                bind(c, name = 'melissa_fetch_next_parameters_f') result(count)
            import :: c_int, c_double
            real(kind=c_double), dimension(*), intent(out) :: parameters
            integer(kind=c_int), intent(in) :: capacity
            integer(kind=c_int), intent(in) :: comm
            integer(kind=c_int) :: count
        end function c_melissa_fetch_next_parameters_f

        !> The simulation this process streams as (MELISSA_SIMU_ID or the last one fetched); -1 if none.
        function melissa_simulation_id() bind(c, name = 'melissa_simulation_id') result(id)
            import :: c_int
            integer(kind=c_int) :: id
        end function melissa_simulation_id

        subroutine c_melissa_init_f(field_name, local_vect_size, comm) bind(c, name = 'melissa_init_f')
            import :: c_char, c_int
            character(kind=c_char), dimension(*), intent(in) :: field_name
            integer(kind=c_int), intent(in) :: local_vect_size
            integer(kind=c_int), intent(in) :: comm
        end subroutine c_melissa_init_f

        subroutine c_melissa_send(field_name, send_vect) bind(c, name = 'melissa_send')
            import :: c_char, c_double
            character(kind=c_char), dimension(*), intent(in) :: field_name
            real(kind=c_double), dimension(*), intent(in) :: send_vect
        end subroutine c_melissa_send

        subroutine c_melissa_finalize() bind(c, name = 'melissa_finalize')
        end subroutine c_melissa_finalize

        function c_melissa_version() bind(c, name = 'melissa_version') result(text)
            import :: c_ptr
            type(c_ptr) :: text
        end function c_melissa_version
    end interface

contains

    !> melissa_init with an integer communicator handle (mpif.h or "use mpi").
    subroutine melissa_init_handle(field_name, local_vect_size, comm)
        character(len=*), intent(in) :: field_name
        integer, intent(in) :: local_vect_size
        integer, intent(in) :: comm
        call c_melissa_init_f(trim(field_name) // c_null_char, int(local_vect_size, c_int), int(comm, c_int))
    end subroutine melissa_init_handle

    !> melissa_init with an mpi_f08 communicator.
    subroutine melissa_init_f08(field_name, local_vect_size, comm)
        character(len=*), intent(in) :: field_name
        integer, intent(in) :: local_vect_size
        type(MPI_Comm), intent(in) :: comm
        call c_melissa_init_f(trim(field_name) // c_null_char, int(local_vect_size, c_int), int(comm%MPI_VAL, c_int))
    end subroutine melissa_init_f08

    !> Sends the next time step of a field: values holds the registered local size.
    subroutine melissa_send(field_name, values)
        character(len=*), intent(in) :: field_name
        real(kind=c_double), dimension(*), intent(in) :: values
        call c_melissa_send(trim(field_name) // c_null_char, values)
    end subroutine melissa_send

    !> Flushes the queued time steps and disconnects (collective); call it before MPI_Finalize.
    subroutine melissa_finalize()
        call c_melissa_finalize()
    end subroutine melissa_finalize

    !> melissa_fetch_next_parameters with an integer communicator handle: fills parameters
    !> (at most size(parameters) values) and returns how many the simulation has, 0 when done.
    function melissa_fetch_next_handle(parameters, comm) result(count)
        real(kind=c_double), dimension(:), intent(out) :: parameters
        integer, intent(in) :: comm
        integer :: count
        count = int(c_melissa_fetch_next_parameters_f(parameters, int(size(parameters), c_int), int(comm, c_int)))
    end function melissa_fetch_next_handle

    !> melissa_fetch_next_parameters with an mpi_f08 communicator.
    function melissa_fetch_next_f08(parameters, comm) result(count)
        real(kind=c_double), dimension(:), intent(out) :: parameters
        type(MPI_Comm), intent(in) :: comm
        integer :: count
        count = int(c_melissa_fetch_next_parameters_f(parameters, int(size(parameters), c_int), int(comm%MPI_VAL, c_int)))
    end function melissa_fetch_next_f08

    !> The client library's version, "major.minor.patch".
    function melissa_version() result(version)
        character(len=:), allocatable :: version
        character(kind=c_char), dimension(:), pointer :: chars
        type(c_ptr) :: text
        integer :: length, i
        text = c_melissa_version()
        version = ''
        if (.not. c_associated(text)) return
        ! A version string is short; 64 bounds the scan for its NUL.
        call c_f_pointer(text, chars, [64])
        length = 0
        do while (length < 64)
            if (chars(length + 1) == c_null_char) exit
            length = length + 1
        end do
        version = repeat(' ', length)
        do i = 1, length
            version(i:i) = chars(i)
        end do
    end function melissa_version

end module melissa
