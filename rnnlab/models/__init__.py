"""Recurrent models: step-by-step cells, stacks over time, and the language model."""
