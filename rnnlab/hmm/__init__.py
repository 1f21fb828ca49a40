"""Discrete hidden Markov models: forward-backward, Baum-Welch, Viterbi, sampling."""
