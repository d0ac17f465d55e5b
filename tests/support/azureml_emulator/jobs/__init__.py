"""Jobs run for real: command jobs and pipeline jobs with parallel nodes, as local processes."""
