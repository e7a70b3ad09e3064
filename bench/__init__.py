"""Performance benchmarks P1–P9 (QUALITY.md): each scenario runs the project and a minimal floor
interleaved in one run and prints one ``RESULT`` line per figure. ``python -m bench`` runs them."""
