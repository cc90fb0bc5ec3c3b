"""The one command-line edge: the top floor, which may import every package and which none imports."""
