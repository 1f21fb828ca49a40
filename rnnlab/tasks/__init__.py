"""Tasks: the problems the one Trainer trains (tasks/base.py holds the contract)."""
