"""seed-demo: a realistic, repeatable demo program whose printed logins work."""
import re

from portal.demo import DEMO_PASSWORD
from portal.models import Mentorship, Profile, ProfileTopic, User


def test_seed_demo_builds_a_program_across_continents(app, runner):
    result = runner.invoke(args=["seed-demo", "--members", "60"])
    assert result.exit_code == 0, result.output
    assert "Demo logins" in result.output and DEMO_PASSWORD in result.output
    with app.app_context():
        assert User.select().count() == 61
        assert User.select().where(User.role == "coordinator").count() == 1
        assert len({p.region for p in Profile.select(Profile.region)}) >= 4
        assert len({p.job_level for p in Profile.select(Profile.job_level)}) == 5
        assert Profile.select().where(Profile.offers_mentoring == True).count() > 10  # noqa: E712
        assert ProfileTopic.select().where(ProfileTopic.kind == "seeks").count() > 10
        assert Mentorship.select().count() >= 3


def test_seed_demo_is_repeatable(app, runner):
    runner.invoke(args=["seed-demo", "--members", "20"])
    again = runner.invoke(args=["seed-demo", "--members", "20"])
    assert again.exit_code == 0
    assert "already loaded" in again.output
    with app.app_context():
        assert User.select().count() == 21


def test_printed_demo_logins_work(app, runner, client, auth):
    output = runner.invoke(args=["seed-demo", "--members", "30"]).output
    emails = re.findall(r"\S+@demo\.tandem\.example", output)
    assert len(emails) == 3
    for email in emails:
        response = auth.login(email, DEMO_PASSWORD)
        assert response.status_code == 302 and response.headers["Location"] == "/mentors"
        assert client.get("/mentors").status_code == 200
        auth.logout()
