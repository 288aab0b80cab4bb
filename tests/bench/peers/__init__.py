"""The sustained-speeding rule written with the stream libraries a Knightwatch user would
otherwise pick, run beside the worker by `make bench` on the same pre-loaded topic."""
