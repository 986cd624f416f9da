""""Away until" on profiles, and the single-use links of emails that have been used.

``profile.away_until`` is the day a member is back (in their calendar) and ``away_ends_at`` the
moment that day begins in their zone, in UTC: browsing hides members whose ``away_ends_at`` is
still ahead, and the sweep brings back those whose moment has come (the index finds them).
The columns are added in place: the table is never rebuilt. The browse index of 0002 gets the new
column at its end, so that listing mentors still reads the index alone, not the profiles.

``used_link`` keeps the id of each single-use email link once it has acted; the unique id is what
makes a link act once. Frozen copies of the models; ``user`` is a stub, not created here.
"""
from peewee import *

BROWSE = ('offers_mentoring', 'completed', 'user_id', 'capacity', 'job_level', 'organization', 'region', 'industry')


def up(migrator, db):
    class User(Model):
        class Meta:
            database = db
            table_name = 'user'

    class UsedLink(Model):
        link_id = CharField(unique=True)
        user = ForeignKeyField(User, on_delete='CASCADE')
        action = CharField()
        used_at = DateTimeField()
        class Meta:
            database = db
            table_name = 'used_link'
    db.create_tables([UsedLink])

    migrator.migrate(
        migrator.add_column('profile', 'away_until', DateField(null=True)),
        migrator.add_column('profile', 'away_ends_at', DateTimeField(null=True)),
        migrator.add_index('profile', ('away_ends_at',), False),
        migrator.drop_index('profile', 'profile_browse'),
        migrator.add_index('profile', BROWSE + ('away_ends_at',), False, name='profile_browse'),
    )


def down(migrator, db):
    migrator.migrate(
        migrator.drop_index('profile', 'profile_browse'),
        migrator.add_index('profile', BROWSE, False, name='profile_browse'),
        migrator.drop_index('profile', 'profile_away_ends_at'),
        migrator.drop_column('profile', 'away_ends_at'),
        migrator.drop_column('profile', 'away_until'),
    )
    migrator.migrate(migrator.drop_table('used_link'))
