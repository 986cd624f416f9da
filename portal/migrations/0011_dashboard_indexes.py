"""Indexes for the coordinators' health dashboard (issue 7).

Each one lets a figure of the dashboard read an index instead of the table: meetings held per day
with their minutes (the meetings figures and chart), each pair's last meeting held (the quiet pairs,
also read by the reminder sweep), and feedback by the day it was given with its rating (the ratings,
the low ratings, "not a good fit").
"""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_index('meeting', ('status', 'held_on', 'duration_minutes'), False, name='meeting_held_days'),
        migrator.add_index('meeting', ('status', 'mentorship_id', 'held_on'), False, name='meeting_last_held'),
        migrator.add_index('feedback', ('created_at', 'rating'), False, name='feedback_given'),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('feedback', 'feedback_given'),
        migrator.drop_index('meeting', 'meeting_last_held'),
        migrator.drop_index('meeting', 'meeting_held_days'),
    )
