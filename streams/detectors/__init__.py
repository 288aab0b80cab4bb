"""One detector per risky behaviour. Each is fed a rider's fixes in event-time order."""
