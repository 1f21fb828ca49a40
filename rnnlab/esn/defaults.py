"""The sweep's default grid, free of NumPy so that `rnnlab esn sweep --help` shows it without loading anything."""
RADII = (0.5, 0.8, 0.95, 1.1, 1.25, 1.5)
INPUT_SCALINGS = (0.1, 0.3, 1.0, 3.0)
LEAK_RATES = (0.1, 0.3, 0.6, 1.0)

# Limits of the settings, shared by the library (model.py) and the command line (cli.py)
MAX_UNITS = 10_000    # W is dense: n^2 memory, and its exact spectral radius takes n^3 time (minutes at 10,000)
MAX_RADIUS = 1e3      # echo state networks work near radius 1; tanh is saturated long before 1,000
MAX_SCALING = 1e6     # input, bias and feedback scalings, ridge, noise: far past any use, well inside float32
