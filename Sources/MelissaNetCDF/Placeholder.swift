import CNetCDF
// Thin NetCDF-4 wrapper (filled in by issue 3).
