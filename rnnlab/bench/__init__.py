"""`rnnlab bench`: the benchmark suite's figures against their peers, measured in one process."""
