"""Echo state networks: a fixed random reservoir, a linear readout fitted by ridge regression."""
