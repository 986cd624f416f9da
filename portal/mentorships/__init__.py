"""The pair's space: goals, milestones, meetings, feedback and ending well (DESIGN journey 4)."""
