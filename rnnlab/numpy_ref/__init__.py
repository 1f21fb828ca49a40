"""From-scratch NumPy RNN / LSTM / GRU with hand-written backpropagation through time."""
