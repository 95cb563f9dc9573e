"""`python -m appeals` runs the command line (the same as the `appeals` script)."""

from appeals.cli import main

main()
