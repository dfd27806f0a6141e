"""A faithful stand-in for a Tyro terminal, HealthPoint and Healthcode."""
