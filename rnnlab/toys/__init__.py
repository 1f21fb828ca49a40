"""The lectures' toy problems."""
