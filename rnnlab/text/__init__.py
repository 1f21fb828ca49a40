"""Text: vocabularies, corpora and the TBPTT batch stream."""
