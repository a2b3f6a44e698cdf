! A Fortran simulation for the end-to-end tests written the modern way: "use mpi_f08" and
! "use melissa" (names without char(0), an mpi_f08 communicator). Streams an analytic field and
! dumps what it sent for the oracle.
!   fortran_module_client <steps> <cells per rank> <p0> <p1>
! Value of global cell g (from 0) at step s: p0 * (g + 1) + p1 * s. Dump: $HEAT2D_DUMP_DIR/
! heat2d.sim<id>.rank<r>.bin (float64, step-major). Rank 0 writes melissa_version() to
! $HEAT2D_DUMP_DIR/version.txt.
program fortran_module_client
    use mpi_f08
    use melissa
    implicit none
    integer :: rank, nranks, steps, cells, s, i, unit
    double precision :: p0, p1
    double precision, allocatable :: values(:)
    character(len=64) :: arg, id
    character(len=4096) :: dir, path

    call MPI_Init()
    call MPI_Comm_rank(MPI_COMM_WORLD, rank)
    call MPI_Comm_size(MPI_COMM_WORLD, nranks)
    call get_command_argument(1, arg); read(arg, *) steps
    call get_command_argument(2, arg); read(arg, *) cells
    call get_command_argument(3, arg); read(arg, *) p0
    call get_command_argument(4, arg); read(arg, *) p1
    allocate(values(cells))

    call melissa_init('temperature', cells, MPI_COMM_WORLD)

    unit = -1
    call get_environment_variable('HEAT2D_DUMP_DIR', dir)
    call get_environment_variable('MELISSA_SIMU_ID', id)
    if (len_trim(dir) > 0) then
        write(path, '(4a, i0, a)') trim(dir), '/heat2d.sim', trim(id), '.rank', rank, '.bin'
        open(newunit=unit, file=trim(path), access='stream', form='unformatted', status='replace')
    end if
    do s = 0, steps - 1
        do i = 1, cells
            values(i) = p0 * (rank * cells + i) + p1 * s
        end do
        call melissa_send('temperature', values)
        if (unit /= -1) write(unit) values
    end do
    call melissa_finalize()
    if (unit /= -1) close(unit)
    if (rank == 0 .and. len_trim(dir) > 0) then
        open(newunit=unit, file=trim(dir) // '/version.txt', status='replace')
        write(unit, '(a)') melissa_version()
        close(unit)
    end if
    call MPI_Finalize()
end program fortran_module_client
