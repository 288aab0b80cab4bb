"""`knightwatch simulate`: the city's riders, sensor faults, and ground-truth labels."""
