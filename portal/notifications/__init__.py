"""Notifications: the outbox rows (services) that the reminders jobs deliver."""
