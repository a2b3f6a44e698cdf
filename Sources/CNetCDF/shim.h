// libnetcdf (Debian libnetcdf-dev): NetCDF-4 results files.
#include <netcdf.h>
