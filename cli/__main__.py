"""``python -m cli``: the ``intake`` command without its console script."""

from cli.main import main

if __name__ == "__main__":
    main()
