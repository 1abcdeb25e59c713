"""Developer tools kept out of the installed package: the sample generator and the benchmark."""
