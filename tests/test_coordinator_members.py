"""The members page of the coordinator console (issue 7): filters in the URL, pages in a constant number of
queries, roles; and the topic vocabulary: renaming and merging topics."""
import html
import re

import pytest

from portal.coordinator import services
from portal.models import (
    AuditEvent,
    ConnectionRequest,
    Meeting,
    MeetingTopic,
    Mentorship,
    ProfileTopic,
    RequestTopic,
    Topic,
    User,
    utcnow,
)

from pagekit import log_in, page_text


def names(response):
    """The names in the members table, in order."""
    block = re.search(r'<div id="member_list">(.*?)</div>\s*</section>', response.get_data(as_text=True), re.S)
    return [html.unescape(n) for n in re.findall(r'<a href="/members/\d+">([^<]*)</a>', block.group(1))]


@pytest.fixture
def crowd(make_member, topics, coordinator):
    """One member in each status and mentoring side."""
    make_member(name="Ann Active", offers=[topics["Python"]], organization="Acme")
    make_member(name="Dan Deactivated", active=False, seeks=[topics["Python"]])
    make_member(name="Ian Incomplete", completed=False)
    unverified = make_member(name="Una Unverified", seeks=[topics["Leadership"]])
    User.update(verified=False).where(User.id == unverified.id).execute()
    gone = make_member(name="Former member", active=False)
    User.update(deleted_at=utcnow()).where(User.id == gone.id).execute()


@pytest.mark.parametrize("query, expected", [
    ({}, ["Ann Active", "Cora Coordinator", "Dan Deactivated", "Former member", "Ian Incomplete", "Una Unverified"]),
    ({"status": "active"}, ["Ann Active", "Cora Coordinator"]),
    ({"status": "deactivated"}, ["Dan Deactivated"]),
    ({"status": "deleted"}, ["Former member"]),
    ({"status": "unverified"}, ["Una Unverified"]),
    ({"status": "incomplete"}, ["Ian Incomplete"]),
    ({"role": "coordinator"}, ["Cora Coordinator"]),
    ({"mentoring": "offers"}, ["Ann Active"]),
    ({"mentoring": "seeks", "status": "active"}, []),
    ({"mentoring": "seeks"}, ["Dan Deactivated", "Una Unverified"]),
    ({"q": "acme"}, ["Ann Active"]),
    ({"q": "una", "role": "member"}, ["Una Unverified"]),
    ({"status": "nonsense", "role": "admin"}, ["Ann Active", "Cora Coordinator", "Dan Deactivated", "Former member",
                                               "Ian Incomplete", "Una Unverified"]),
])
def test_filters_combine_and_stay_in_the_url(as_coordinator, crowd, query, expected):
    response = as_coordinator.get("/coordinator/members", query_string=query)
    assert response.status_code == 200 and names(response) == expected
    count = len(expected)
    assert f"{count} member{'s' if count != 1 else ''} found" in page_text(response)
    for name, value in query.items():  # the form shows the filter it applied
        if name == "q":
            assert f'value="{value}"' in response.get_data(as_text=True)
        elif value in ("active", "deactivated", "deleted", "unverified", "incomplete", "coordinator", "member", "offers", "seeks"):
            assert re.search(rf'<option value="{value}" selected>', response.get_data(as_text=True))


def test_a_deleted_account_offers_no_action(as_coordinator, crowd):
    page = as_coordinator.get("/coordinator/members?status=deleted").get_data(as_text=True)
    row = re.search(r"<tr>\s*<td><a[^>]*>Former member</a>.*?</tr>", page, re.S).group(0)
    assert "<td>deleted</td>" in row and "Reactivate" not in row and "Make coordinator" not in row


def test_htmx_gets_only_the_list(as_coordinator, crowd):
    response = as_coordinator.get("/coordinator/members?status=deactivated",
                           headers={"HX-Request": "true", "HX-Target": "member_list"})
    page = response.get_data(as_text=True)
    assert "Dan Deactivated" in page and "Ann Active" not in page and "<h1>" not in page


def test_pages_keep_the_filters_and_cost_the_same_queries(as_coordinator, make_member, count_queries, coordinator):
    def queries(path):
        with count_queries() as seen:
            response = as_coordinator.get(path)
        assert response.status_code == 200
        return len(seen), response

    few, _ = queries("/coordinator/members?role=member")
    for n in range(120):
        make_member(name=f"Member {n:03}", organization="Many")
    many, first = queries("/coordinator/members?role=member")
    assert many == few
    assert names(first) == [f"Member {n:03}" for n in range(services.MEMBERS_PAGE_SIZE)]
    assert "120 members found · page 1 of 3" in page_text(first)
    assert 'href="/coordinator/members?role=member&amp;page=2"' in first.get_data(as_text=True)
    last_count, last = queries("/coordinator/members?role=member&page=3")
    assert last_count == few and names(last) == [f"Member {n:03}" for n in range(100, 120)]
    beyond = as_coordinator.get("/coordinator/members?role=member&page=99")
    assert "page 3 of 3" in page_text(beyond)


def test_make_coordinator_and_back(as_coordinator, make_member, coordinator, auth):
    mia = make_member(name="Mia Member", email="mia@example.org")
    response = as_coordinator.post(f"/coordinator/members/{mia.id}/role", data={"role": "coordinator"})
    assert response.status_code == 303
    assert "Mia Member is now a coordinator." in page_text(as_coordinator.get("/coordinator/members"))
    assert User.get_by_id(mia.id).is_coordinator
    assert as_coordinator.post(f"/coordinator/members/{mia.id}/role", data={"role": "member"}).status_code == 303
    assert User.get_by_id(mia.id).role == "member"
    changes = [e.detail for e in AuditEvent.select().where(AuditEvent.action == "member.role_changed")
               .order_by(AuditEvent.id)]
    assert changes == ["member → coordinator", "coordinator → member"]


def test_roles_are_refused_for_yourself_and_for_the_last_coordinator(as_coordinator, make_member, coordinator):
    response = as_coordinator.post(f"/coordinator/members/{coordinator.id}/role", data={"role": "member"},
                                   follow_redirects=True)
    assert "You cannot change your own role: ask another coordinator." in page_text(response)
    assert User.get_by_id(coordinator.id).is_coordinator
    mia = make_member(name="Mia Member", role=User.COORDINATOR)
    User.update(active=False).where(User.id == coordinator.id).execute()  # Cora leaves: Mia is the only one
    with pytest.raises(services.CoordinatorError, match="Mia Member is the program's only coordinator"):
        services.set_role(User.get_by_id(coordinator.id), mia, User.MEMBER)
    with pytest.raises(services.CoordinatorError, match="Choose member or coordinator."):
        services.set_role(User.get_by_id(mia.id), coordinator, "admin")
    assert User.get_by_id(mia.id).is_coordinator and not AuditEvent.select().where(
        AuditEvent.action == "member.role_changed").exists()


# --- topics ---------------------------------------------------------------------

def test_rename_a_topic(as_coordinator, topics, make_member):
    mia = make_member(name="Mia Member", offers=[topics["Python"]])
    python = topics["Python"]
    response = as_coordinator.post(f"/coordinator/topics/{python.id}/rename",
                                   data={"new_name": "  Python   programming "})
    assert response.status_code == 303
    assert "“Python” is now called “Python programming”." in page_text(as_coordinator.get("/coordinator/topics"))
    assert Topic.get_by_id(python.id).name == "Python programming"
    assert "Python programming" in page_text(as_coordinator.get(f"/members/{mia.id}"))
    [event] = AuditEvent.select().where(AuditEvent.action == "topic.renamed")
    assert event.detail == "Python → Python programming"


@pytest.mark.parametrize("name, message", [
    ("", "Enter the topic's new name."),
    ("x" * 61, "Keep a topic under 60 characters."),
    ("leadership", "“Leadership” is already a topic: merge “Python” into it instead."),
])
def test_rename_says_what_to_fix_and_keeps_the_name_typed(as_coordinator, topics, name, message):
    python = topics["Python"]
    response = as_coordinator.post(f"/coordinator/topics/{python.id}/rename", data={"new_name": name})
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and message in page_text(response)
    assert re.search(rf'id="rename-{python.id}" name="new_name" value="{re.escape(name)}"', page)
    assert Topic.get_by_id(python.id).name == "Python"


def test_merge_a_suggested_topic_moves_every_link_without_duplicates(app, as_coordinator, topics, make_member,
                                                                    coordinator):
    python = topics["Python"]
    suggested = Topic.create(name="Pyhton", approved=False)
    # Mia offers both (her link to the suggestion goes); Max offers only the suggestion (his moves).
    mia = make_member(name="Mia Member", offers=[python, suggested])
    max_ = make_member(name="Max Mentor", offers=[suggested], seeks=[python])
    Topic.update(suggested_by=max_).where(Topic.id == suggested.id).execute()
    req = ConnectionRequest.create(requester=max_, mentee=max_, mentor=mia, help_wanted="x" * 30,
                                   success_looks_like="y" * 30)
    RequestTopic.create(request=req, topic=python)
    RequestTopic.create(request=req, topic=suggested)
    other = ConnectionRequest.create(requester=coordinator, mentee=coordinator, mentor=mia, help_wanted="x" * 30,
                                     success_looks_like="y" * 30, status=ConnectionRequest.WITHDRAWN)
    RequestTopic.create(request=other, topic=suggested)
    pair = Mentorship.create(mentor=mia, mentee=max_)
    meeting = Meeting.create(mentorship=pair, status=Meeting.HELD)
    MeetingTopic.create(meeting=meeting, topic=suggested)

    response = as_coordinator.post(f"/coordinator/topics/{suggested.id}/merge", data={"into": str(python.id)})
    assert response.status_code == 303
    assert "“Pyhton” is merged into “Python”: 3 links moved." in page_text(as_coordinator.get("/coordinator/topics"))
    assert Topic.get_or_none(Topic.id == suggested.id) is None
    links = sorted((p.profile_id, p.kind) for p in ProfileTopic.select().where(ProfileTopic.topic == python.id))
    assert links == sorted([(mia.id, "offers"), (max_.id, "offers"), (max_.id, "seeks")])
    assert sorted(r.request_id for r in RequestTopic.select().where(RequestTopic.topic == python.id)) == [req.id,
                                                                                                         other.id]
    assert [m.topic_id for m in MeetingTopic.select()] == [python.id]
    # who suggested it sees the target's name in its place: his offer is Python, "Pyhton" is gone
    profile = log_in(app, max_).get(f"/members/{max_.id}")
    offered = re.search(r'<h2 id="offers">Mentors on</h2>\s*<ul class="tags">(.*?)</ul>',
                        profile.get_data(as_text=True), re.S)
    assert re.findall(r"<li>(.*?)</li>", offered.group(1)) == ["Python"]
    assert "Pyhton" not in page_text(profile)
    [event] = AuditEvent.select().where(AuditEvent.action == "topic.merged")
    assert event.detail == f"“Pyhton” (topic:{suggested.id}) merged into “Python”; 3 links moved"


def test_merge_is_refused_into_itself_or_nowhere(as_coordinator, topics):
    python = topics["Python"]
    response = as_coordinator.post(f"/coordinator/topics/{python.id}/merge", data={"into": str(python.id)})
    assert "Choose another topic: “Python” cannot be merged into itself." in page_text(response)
    response = as_coordinator.post(f"/coordinator/topics/{python.id}/merge", data={"into": ""})
    assert "Choose the topic to merge into." in page_text(response)
    assert as_coordinator.post(f"/coordinator/topics/{python.id}/merge", data={"into": "999999"}).status_code == 200
    assert as_coordinator.post("/coordinator/topics/999999/merge", data={"into": str(python.id)}).status_code == 404
    assert Topic.select().count() == 5 and not AuditEvent.select().exists()
