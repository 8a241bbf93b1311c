"""`POST /projects/{project}/runs` with the creation time a client recorded (offline runs)."""

from datetime import UTC, datetime


def test_a_new_run_keeps_the_creation_time_it_was_given(server, project):
    with server.api() as api:
        url = f"/projects/{project}/runs"
        started = api.post(url, json={"id": "r1", "created_at": "2024-03-01T12:30:45.123456"})
        assert started.status_code == 201, started.text
        created = datetime.fromisoformat(started.json()["run"]["created_at"])
        assert created.replace(tzinfo=created.tzinfo or UTC) == datetime(
            2024, 3, 1, 12, 30, 45, 123456, tzinfo=UTC
        )
        # A resumed run keeps its own.
        resumed = api.post(url, json={"id": "r1", "resume": True, "created_at": "2030-01-01T00:00"})
        assert resumed.json()["run"]["created_at"] == started.json()["run"]["created_at"]
        bad = api.post(url, json={"id": "r2", "created_at": "yesterday"})
        assert bad.status_code == 422 and "created_at" in bad.text
        assert api.get(f"{url}/r2").status_code == 404


def test_an_offset_is_converted_not_dropped(server, project):
    with server.api() as api:
        body = {"id": "r1", "created_at": "2024-03-01T14:30:00+02:00"}
        run = api.post(f"/projects/{project}/runs", json=body).json()["run"]
    created = datetime.fromisoformat(run["created_at"])
    assert created.replace(tzinfo=created.tzinfo or UTC) == datetime(2024, 3, 1, 12, 30, tzinfo=UTC)
