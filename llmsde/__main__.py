"""``python -m llmsde`` runs the command line."""

from llmsde.cli import main

if __name__ == "__main__":
    main()
