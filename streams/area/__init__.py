"""Area risk: the weather in force per city and the congestion picture per map cell."""
