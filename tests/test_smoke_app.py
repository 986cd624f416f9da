def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok" and body["database"] == "ok"
    assert body["broker"] in {"in-process", "ok"}


def test_login_then_browse(client, auth, make_member, topics):
    make_member(email="mentor@example.org", name="Mia Mentor", offers=[topics["Python"]], job_level="senior")
    make_member(email="me@example.org", seeks=[topics["Python"]])
    assert auth.login("me@example.org").status_code == 302
    page = client.get("/mentors").get_data(as_text=True)
    assert "Mia Mentor" in page
    assert "1 of your 1 topics: Python" in page
