// Iterative statistics kernels (filled in by issue 3).
