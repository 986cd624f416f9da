"""Indexes for browsing mentors.

The time zones and organizations in use are read on every "best match" page:
with these indexes that is a walk over distinct values instead of a scan of
every member. Candidates (members who offer mentoring, with a completed
profile) are read from one index that holds what ranking and the filters
need, in member order, without reading the profiles themselves.
"""
from peewee import *


def up(migrator, db):
    migrator.migrate(
        migrator.add_index('user', ('time_zone',), False),
        migrator.add_index('profile', ('organization',), False),
        migrator.add_index('profile', ('offers_mentoring', 'completed', 'user_id', 'capacity', 'job_level',
                                       'organization', 'region', 'industry'), False, name='profile_browse'),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('profile', 'profile_browse'),
        migrator.drop_index('profile', 'profile_organization'),
        migrator.drop_index('user', 'user_time_zone'),
    )
