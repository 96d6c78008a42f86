"""The benchmark driver's plumbing: child processes, the machine description, statistics and the report."""
