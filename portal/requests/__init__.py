"""Connection requests: a mentee asks a mentor, or a mentor offers to mentor a mentee."""
