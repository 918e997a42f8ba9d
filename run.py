"""Wardboard's one entry point: python run.py serve | simulate | db | layout  (see --help)."""

from config.cli import main

if __name__ == "__main__":
    main()
