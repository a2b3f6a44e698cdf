# Sourced by the scripts: lets Open MPI run as root (containers, CI) and on
# machines with fewer cores than ranks. Harmless for ordinary users.
if [ "$(id -u)" -eq 0 ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
export OMPI_MCA_rmaps_base_oversubscribe=${OMPI_MCA_rmaps_base_oversubscribe:-1}
# No ssh agent on a single machine; keeps mpirun from looking for one.
export OMPI_MCA_plm=${OMPI_MCA_plm:-isolated}
# Simulations sharing cores (more ranks than cores, as on a laptop or this CI machine)
# would otherwise busy-poll MPI and run ~20x slower; on dedicated cores unset it.
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
