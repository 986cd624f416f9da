"""Links in emails that work without logging in: one-click unsubscribe and single-use actions."""
