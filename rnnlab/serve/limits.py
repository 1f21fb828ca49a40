"""The explorer's limits, torch-free so that `rnnlab serve --help` can show them."""
DEFAULT_MAX_CHARS = 10_000       # longest text an analysis or a prime may be
DEFAULT_MAX_LENGTH = 2_000       # most tokens a continuation may have
CACHE_BYTES = 1 << 30            # activations kept for recent texts, all together
BUSY_SECONDS = 30.0              # how long a request waits for the model before it is refused
SOCKET_TIMEOUT = 30              # seconds a client may take to send its request
