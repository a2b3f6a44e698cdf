// Statistics kernel benchmark (filled in by issue 3).
