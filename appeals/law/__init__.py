"""law stage."""
