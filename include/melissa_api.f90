! melissa_api.f90 - the older name of "melissa/api.f90", kept so simulations written for either
! Melissa layout build unchanged. Everything is declared there.
include "melissa/api.f90"
