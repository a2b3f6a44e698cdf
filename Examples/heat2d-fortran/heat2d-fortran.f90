! heat2d-fortran: the 2D heat equation of Examples/heat2d, in Fortran, streamed to a Melissa server
! through Melissa's own Fortran interface (include "mpif.h" and include "melissa/api.f90"), so it
! is also the proof that Melissa-instrumented Fortran builds unchanged.
!
!   dT/dt = alpha * (d2T/dx2 + d2T/dy2)    on (0,1) x (0,1), T = T_boundary on the edges,
!   T(x, y, 0) = T_initial inside.
!
! Same numerics, options, output and dump files as the C version (see its README): rows split
! over the ranks, one ghost row each side. The grid is u(1:nx, 0:local_ny+1), column-major, so a
! row is contiguous and u(:, 1:local_ny) is this rank's rows in row-major order, as in C.
!
! Usage: heat2d-fortran [options] <T_initial> <T_boundary>
! Build: mpifort heat2d-fortran.f90 $(melissa-config --fflags --libs) -o heat2d-fortran
program heat2d_fortran
    implicit none
    include "mpif.h"
    include "melissa/api.f90"

    integer :: nx, ny, steps, substeps, use_melissa
    double precision :: alpha, t_end, t_initial, t_boundary
    integer :: ierr, rank, nranks, status, local_ny, up, down, step, s, i, j, dump_unit
    double precision :: dx, dy, dt_max, per_step, dt, rx, ry, left, right, start, compute, fin
    double precision, allocatable, target :: u(:, :), v(:, :)
    ! A blank-padded name and no char(0): the library ends the name at the first blank.
    character(len=32) :: field = 'temperature'
    character(len=64) :: simu_id

    call MPI_Init(ierr)
    call MPI_Comm_rank(MPI_COMM_WORLD, rank, ierr)
    call MPI_Comm_size(MPI_COMM_WORLD, nranks, ierr)

    call parse_options(status)
    if (status == 0 .and. ny < nranks) then
        if (rank == 0) write(0, '(a, i0, a, i0, a)') 'heat2d-fortran: --ny ', ny, ' is smaller than the ', nranks, ' ranks'
        status = 2
    end if
    if (status /= 0) then
        call MPI_Finalize(ierr)
        if (status == 1) stop
        error stop 2
    end if

    ! Rows split as evenly as possible: the first mod(ny, nranks) ranks get one more.
    local_ny = ny / nranks
    if (rank < mod(ny, nranks)) local_ny = local_ny + 1
    up = MPI_PROC_NULL
    down = MPI_PROC_NULL
    if (rank > 0) up = rank - 1
    if (rank < nranks - 1) down = rank + 1

    ! Explicit Euler stability bound with a 0.9 margin, as in the C version.
    dx = 1d0 / (nx + 1)
    dy = 1d0 / (ny + 1)
    dt_max = 0.9d0 * dx * dx * dy * dy / (2d0 * alpha * (dx * dx + dy * dy))
    per_step = t_end / steps
    if (per_step / substeps > dt_max) substeps = int(per_step / dt_max) + 1
    dt = per_step / substeps
    rx = alpha * dt / (dx * dx)
    ry = alpha * dt / (dy * dy)

    allocate(u(nx, 0:local_ny + 1), v(nx, 0:local_ny + 1))
    u = t_initial
    if (up == MPI_PROC_NULL) u(:, 0) = t_boundary
    if (down == MPI_PROC_NULL) u(:, local_ny + 1) = t_boundary
    v = u

    if (use_melissa == 1) call melissa_init(field, local_ny * nx, MPI_COMM_WORLD)
    call open_dump()

    start = MPI_Wtime()
    do step = 1, steps
        do s = 1, substeps
            call MPI_Sendrecv(u(:, 1), nx, MPI_DOUBLE_PRECISION, up, 0, u(:, local_ny + 1), nx, &
                              MPI_DOUBLE_PRECISION, down, 0, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
            call MPI_Sendrecv(u(:, local_ny), nx, MPI_DOUBLE_PRECISION, down, 1, u(:, 0), nx, &
                              MPI_DOUBLE_PRECISION, up, 1, MPI_COMM_WORLD, MPI_STATUS_IGNORE, ierr)
            do i = 1, local_ny
                do j = 1, nx
                    left = t_boundary
                    right = t_boundary
                    if (j > 1) left = u(j - 1, i)
                    if (j < nx) right = u(j + 1, i)
                    v(j, i) = u(j, i) + rx * (left - 2d0 * u(j, i) + right) &
                              + ry * (u(j, i - 1) - 2d0 * u(j, i) + u(j, i + 1))
                end do
            end do
            u(:, 1:local_ny) = v(:, 1:local_ny)
        end do
        if (use_melissa == 1) call melissa_send(field, u(:, 1:local_ny))
        if (dump_unit /= -1) write(dump_unit) u(:, 1:local_ny)
    end do
    compute = MPI_Wtime() - start

    start = MPI_Wtime()
    if (use_melissa == 1) call melissa_finalize()
    fin = MPI_Wtime() - start
    if (dump_unit /= -1) close(dump_unit)
    if (rank == 0) then
        call get_environment_variable('MELISSA_SIMU_ID', simu_id)
        if (len_trim(simu_id) == 0) simu_id = '-'
        write(*, '(a, a, a, i0, a, i0, a, i0, a, i0, a, i0, a, g0.4, a, g0.4, a, f0.3, a, f0.3, a)') &
            'heat2d-fortran: simulation ', trim(simu_id), ': ', nx, 'x', ny, ' grid on ', nranks, ' rank(s), ', &
            steps, ' steps x ', substeps, ' substeps, T_initial ', t_initial, ', T_boundary ', t_boundary, &
            ', ', compute, ' s, finalize ', fin, ' s'
    end if
    deallocate(u, v)
    call MPI_Finalize(ierr)

contains

    ! Parses the command line; status 0 (go on), 1 (--help printed) or 2 (error printed on rank 0).
    subroutine parse_options(status)
        integer, intent(out) :: status
        character(len=256) :: arg, value
        integer :: k, n, n_params, io
        double precision :: params(2)
        nx = 64; ny = 64; steps = 100; substeps = 250; alpha = 1d0; t_end = 0.1d0; use_melissa = 1
        n_params = 0
        status = 0
        n = command_argument_count()
        k = 1
        do while (k <= n)
            call get_command_argument(k, arg)
            if (arg == '--help' .or. arg == '-h') then
                if (rank == 0) call usage(6)
                status = 1
                return
            else if (arg == '--no-melissa') then
                use_melissa = 0
            else if (arg(1:2) /= '--') then
                io = 1
                if (n_params < 2) read(arg, *, iostat=io) params(n_params + 1)
                if (io /= 0) then
                    if (rank == 0) write(0, '(3a)') "heat2d-fortran: unexpected argument '", trim(arg), "'"
                    status = 2
                else
                    n_params = n_params + 1
                end if
            else if (k == n) then
                if (rank == 0) write(0, '(3a)') 'heat2d-fortran: option ', trim(arg), ' needs a value'
                status = 2
            else
                k = k + 1
                call get_command_argument(k, value)
                select case (arg)
                case ('--nx'); read(value, *, iostat=io) nx; if (nx < 1) io = 1
                case ('--ny'); read(value, *, iostat=io) ny; if (ny < 1) io = 1
                case ('--steps'); read(value, *, iostat=io) steps; if (steps < 1) io = 1
                case ('--substeps'); read(value, *, iostat=io) substeps; if (substeps < 1) io = 1
                case ('--alpha'); read(value, *, iostat=io) alpha; if (alpha <= 0) io = 1
                case ('--t-end'); read(value, *, iostat=io) t_end; if (t_end <= 0) io = 1
                case default
                    io = 1
                    if (rank == 0) write(0, '(2a)') 'heat2d-fortran: unknown option ', trim(arg)
                end select
                if (io /= 0) then
                    if (rank == 0) write(0, '(5a)') "heat2d-fortran: invalid value '", trim(value), "' for ", trim(arg)
                    status = 2
                end if
            end if
            if (status /= 0) then
                if (rank == 0) call usage(0)
                return
            end if
            k = k + 1
        end do
        if (n_params /= 2) then
            if (rank == 0) then
                write(0, '(a, i0)') 'heat2d-fortran: expected 2 parameters (T_initial T_boundary), got ', n_params
                call usage(0)
            end if
            status = 2
            return
        end if
        t_initial = params(1)
        t_boundary = params(2)
    end subroutine parse_options

    subroutine usage(unit)
        integer, intent(in) :: unit
        write(unit, '(a)') 'Usage: heat2d-fortran [options] <T_initial> <T_boundary>', &
            '  Options as heat2d (C): --nx N, --ny N, --steps N, --substeps N, --alpha A, --t-end T,', &
            '  --no-melissa. HEAT2D_DUMP_DIR: also write each rank''s values to', &
            '  $HEAT2D_DUMP_DIR/heat2d.sim<MELISSA_SIMU_ID>.rank<r>.bin (float64, step-major)'
    end subroutine usage

    ! Opens this rank's dump file when HEAT2D_DUMP_DIR is set (dump_unit = -1 otherwise).
    subroutine open_dump()
        character(len=4096) :: dir, path
        character(len=64) :: id
        integer :: io
        dump_unit = -1
        call get_environment_variable('HEAT2D_DUMP_DIR', dir)
        if (len_trim(dir) == 0) return
        call get_environment_variable('MELISSA_SIMU_ID', id)
        if (len_trim(id) == 0) id = 'none'
        write(path, '(a, a, a, a, i0, a)') trim(dir), '/heat2d.sim', trim(id), '.rank', rank, '.bin'
        open(newunit=dump_unit, file=trim(path), access='stream', form='unformatted', status='replace', iostat=io)
        if (io /= 0) then
            write(0, '(3a)') "heat2d-fortran: cannot open the dump file '", trim(path), "'"
            call MPI_Abort(MPI_COMM_WORLD, 1, ierr)
        end if
    end subroutine open_dump

end program heat2d_fortran
