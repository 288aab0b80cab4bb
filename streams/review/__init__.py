"""For the people who review alerts: one rider's story from a replay's files, as a timeline in
the rider's local time (`knightwatch rider`) and as a picture of the ride."""
