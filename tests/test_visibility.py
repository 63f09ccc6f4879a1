"""Read isolation (issue 13, item 6): ``visibility = "own"`` over real gRPC, with tokens.

Two users (alice, bob) and an admin (wrangler) on one supervisor. With ``own``, every read
RPC shows alice only her own jobs, events, callback runs and output; bob's jobs answer as jobs
that do not exist (NOT_FOUND where a missing job is, nothing where a missing job gives nothing),
the farm's host events stay visible to her, a host's ``running`` names only her frames, and her
Python callback's ``qb.jobinfo`` does not see bob's job even though its trigger watches it.
The admin sees everything; ``all`` (the default) and open mode behave as before.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import grpc
import pytest

from latchwork.client import Client, LatchworkError
from latchwork.server.config import ConfigError, load_settings
from latchwork.server.core.events import Event, EventName, EventType
from latchwork.server.core.visibility import EVERYTHING, ReadPolicy, ReadScope, Visibility
from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2, supervisor_pb2_grpc

from .serverproc import ServerProcess

ALICE = "alice-token-0123456789abcdef"
BOB = "bob-token-0123456789abcdefgh"
ADMIN = "admin-token-0123456789abcde"
FINAL_NAMES = {
    event_pb2.EVENT_NAME_COMPLETE,
    event_pb2.EVENT_NAME_FAILED,
    event_pb2.EVENT_NAME_KILLED,
}
JOBINFO = "print('sees', len(qb.jobinfo(id={other})), 'of', len(qb.jobinfo(user='bob')))"


@dataclass
class Farm:
    server: ServerProcess
    alice_job: int
    bob_job: int
    bob_callback: int

    def stub(self) -> supervisor_pb2_grpc.SupervisorServiceStub:
        return supervisor_pb2_grpc.SupervisorServiceStub(self.server.channel())

    def client(self, token: str) -> Client:
        return Client(self.server.address, token=token)


def _as(token: str) -> tuple[tuple[str, str], ...]:
    return (("authorization", f"Bearer {token}"),)


def _tokens(path: Path) -> Path:
    path.write_text(
        f'[[token]]\ntoken = "{ALICE}"\nuser = "alice"\n\n'
        f'[[token]]\ntoken = "{BOB}"\nuser = "bob"\n\n'
        f'[[token]]\ntoken = "{ADMIN}"\nuser = "wrangler"\nrole = "admin"\n'
    )
    path.chmod(0o600)
    return path


def _events_until(
    farm: Farm, token: str, stop: Callable[[event_pb2.Event], bool], **filters: Any
) -> list[event_pb2.Event]:
    """The events ``token`` sees from the oldest, up to the first where ``stop`` holds."""
    seen: list[event_pb2.Event] = []
    stream = farm.stub().Subscribe(
        supervisor_pb2.SubscribeRequest(after_seq=0, **filters), metadata=_as(token), timeout=120
    )
    for item in stream:
        if item.HasField("event"):
            seen.append(item.event)
            if stop(item.event):
                stream.cancel()
                return seen
    raise AssertionError(f"stream ended after {len(seen)} events")


def _job_done(job_id: int) -> Callable[[event_pb2.Event], bool]:
    return lambda e: (
        e.job_id == job_id and e.event_type == event_pb2.EVENT_TYPE_JOB and e.name in FINAL_NAMES
    )


def _run_recorded(job_id: int) -> Callable[[event_pb2.Event], bool]:
    return lambda e: e.job_id == job_id and e.event_type == event_pb2.EVENT_TYPE_CALLBACK


def _submit(farm: Farm, token: str, spec: dict[str, Any]) -> int:
    with farm.client(token) as client:
        job_id: int = client.submit([spec]).jobs[0].id
    return job_id


def _start_farm(data: Path, visibility: str) -> Farm:
    server = ServerProcess(
        data / "data",
        slots=2,
        env={
            "LATCHWORK_TOKENS_FILE": str(_tokens(data / "tokens.toml")),
            "LATCHWORK_VISIBILITY": visibility,
            # frames run as the supervisor's user: alice and bob need no OS accounts here
            "LATCHWORK_RUN_AS": "worker",
            # generous: a loaded machine must not turn a callback into a time-out
            "LATCHWORK_CALLBACK_CPU_SECONDS": "30",
            "LATCHWORK_CALLBACK_WALL_SECONDS": "120",
        },
    ).start()
    farm = Farm(server, 0, 0, 0)
    try:
        farm.bob_job = _submit(
            farm,
            BOB,
            {
                "name": "bobjob",
                "package": {"cmdline": "echo bob-secret"},
                "callbacks": [
                    {"triggers": "done-job-self", "language": "python", "code": "print('bob')"}
                ],
            },
        )
        _events_until(farm, BOB, _run_recorded(farm.bob_job), include_callback_runs=True)
        code = JOBINFO.format(other=farm.bob_job)
        farm.alice_job = _submit(
            farm,
            ALICE,
            {
                "name": "alicejob",
                "package": {"cmdline": "echo alice-out"},
                "callbacks": [
                    {
                        # Under "all" it watches bob's job too, so its snapshot is one
                        # qb.jobinfo could read; under "own" a trigger may not name it.
                        "triggers": f"done-job-self || done-job-{farm.bob_job}"
                        if visibility == "all"
                        else "done-job-self",
                        "language": "python",
                        "code": code,
                    }
                ],
            },
        )
        _events_until(farm, ALICE, _run_recorded(farm.alice_job), include_callback_runs=True)
        with farm.client(BOB) as bob:
            farm.bob_callback = bob.get_job(farm.bob_job).callbacks[0].id
    except BaseException:
        server.stop()
        raise
    return farm


@pytest.fixture(scope="module")
def own(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    farm = _start_farm(tmp_path_factory.mktemp("own"), "own")
    yield farm
    farm.server.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    farm = _start_farm(tmp_path_factory.mktemp("all"), "all")
    yield farm
    farm.server.stop()


def _refused(call: Callable[[], object]) -> LatchworkError:
    with pytest.raises(LatchworkError) as caught:
        call()
    return caught.value


def _ids(jobs: Iterator[job_pb2.Job]) -> set[int]:
    return {job.id for job in jobs}


def test_get_job_of_another_user_is_not_found_as_a_missing_job_is(own: Farm) -> None:
    with own.client(ALICE) as alice:
        assert alice.get_job(own.alice_job).spec.name == "alicejob"
        hidden = _refused(lambda: alice.get_job(own.bob_job))
        missing = _refused(lambda: alice.get_job(own.bob_job + 1000))
    assert hidden.code == missing.code == grpc.StatusCode.NOT_FOUND
    assert hidden.message == f"job {own.bob_job} does not exist"
    assert "bob" not in hidden.message
    for token in (BOB, ADMIN):
        with own.client(token) as reader:
            assert reader.get_job(own.bob_job).user == "bob"


def test_list_jobs_shows_own_jobs_only(own: Farm) -> None:
    with own.client(ALICE) as alice:
        mine = list(alice.list_jobs())
        assert own.alice_job in {job.id for job in mine}
        assert {job.user for job in mine} == {"alice"}
        assert list(alice.list_jobs(users=["bob"])) == []
        assert _ids(alice.list_jobs(users=["alice", "bob"])) == _ids(iter(mine))
        assert _ids(alice.list_jobs(page_size=1)) == _ids(iter(mine))
    with own.client(BOB) as bob:
        assert {job.user for job in bob.list_jobs()} == {"bob"}
    with own.client(ADMIN) as admin:
        assert {own.alice_job, own.bob_job} <= _ids(admin.list_jobs())


def test_a_job_lists_only_the_children_its_reader_sees(own: Farm) -> None:
    # An admin may put bob's job below alice's; alice's view of her job leaves it out.
    spec = {"name": "kid", "user": "bob", "pid": own.alice_job, "package": {"cmdline": "true"}}
    kid = _submit(own, ADMIN, spec)
    with own.client(ADMIN) as admin:
        assert kid in admin.get_job(own.alice_job).child_ids
    with own.client(ALICE) as alice:
        assert kid not in alice.get_job(own.alice_job).child_ids
        assert list(alice.list_jobs(parent_id=own.alice_job)) == []
    with own.client(BOB) as bob:
        assert [job.id for job in bob.list_jobs(parent_id=own.alice_job)] == [kid]


def test_work_output_of_another_user_is_not_found(own: Farm) -> None:
    with own.client(BOB) as bob:
        work = bob.get_job(own.bob_job).work[0].name
        assert bob.work_output(own.bob_job, work).data == b"bob-secret\n"
    with own.client(ALICE) as alice:
        hidden = _refused(lambda: alice.work_output(own.bob_job, work))
    assert hidden.code == grpc.StatusCode.NOT_FOUND
    assert hidden.message == f"job {own.bob_job} does not exist"
    with own.client(ADMIN) as admin:
        assert admin.work_output(own.bob_job, work).data == b"bob-secret\n"


def _stream(
    farm: Farm, token: str, **fields: Any
) -> tuple[list[job_pb2.Job], list[event_pb2.Event]]:
    """A Subscribe read up to its first heartbeat: the snapshot and the events caught up."""
    request = supervisor_pb2.SubscribeRequest(heartbeat_seconds=1, **fields)
    snapshot: list[job_pb2.Job] = []
    events: list[event_pb2.Event] = []
    stream = farm.stub().Subscribe(request, metadata=_as(token), timeout=120)
    for item in stream:
        if item.HasField("snapshot_job"):
            snapshot.append(item.snapshot_job)
        elif item.HasField("event"):
            events.append(item.event)
        elif item.HasField("heartbeat"):
            stream.cancel()
            break
    return snapshot, events


def _owners(events: list[event_pb2.Event]) -> set[str]:
    return {e.user for e in events if e.job_id}


def test_subscribe_snapshot_and_catch_up_show_own_jobs(own: Farm) -> None:
    snapshot, events = _stream(own, ALICE, snapshot=True)
    assert own.alice_job in {job.id for job in snapshot}
    assert {job.user for job in snapshot} == {"alice"}
    snapshot, events = _stream(own, ALICE, after_seq=0, include_callback_runs=True)
    assert _owners(events) == {"alice"}
    assert own.alice_job in {e.job_id for e in events}
    assert any(e.event_type == event_pb2.EVENT_TYPE_CALLBACK for e in events)
    _, everything = _stream(own, ADMIN, after_seq=0, include_callback_runs=True)
    assert _owners(everything) == {"alice", "bob"}


def test_subscribe_filters_never_widen_the_scope(own: Farm) -> None:
    for fields in (
        {"job_ids": [own.bob_job]},
        {"users": ["bob"]},
        {"job_ids": [own.bob_job], "snapshot": True},
    ):
        snapshot, events = _stream(own, ALICE, **fields)
        assert (snapshot, events) == ([], []), fields
    _, mine = _stream(own, ALICE, job_ids=[own.alice_job, own.bob_job])
    assert {e.job_id for e in mine} == {own.alice_job}
    _, bobs = _stream(own, BOB, users=["bob"])
    assert own.bob_job in {e.job_id for e in bobs}
    assert _owners(bobs) == {"bob"}


def test_subscribe_resumed_after_a_seq_keeps_the_scope(own: Farm) -> None:
    _, everything = _stream(own, ADMIN, after_seq=0)
    bob_seqs = [e.seq for e in everything if e.user == "bob"]
    # Resume just before one of bob's events: alice's stream skips it, and all of bob's.
    _, events = _stream(own, ALICE, after_seq=bob_seqs[0] - 1)
    assert _owners(events) == {"alice"}
    head = everything[-1].seq  # what came later (none is expected) is left out of both
    assert [e.seq for e in events if e.seq <= head] == [
        e.seq for e in everything if e.seq >= bob_seqs[0] and e.user != "bob"
    ]


def test_subscribe_live_events_of_another_user_do_not_reach_the_stream(own: Farm) -> None:
    stream = own.stub().Subscribe(
        supervisor_pb2.SubscribeRequest(after_seq=-1, heartbeat_seconds=1),
        metadata=_as(ALICE),
        timeout=120,
    )
    live: list[event_pb2.Event] = []
    try:
        for item in stream:  # up to the first heartbeat: the stream is open at the head
            if item.HasField("heartbeat"):
                break
        other = _submit(own, BOB, {"name": "later", "package": {"cmdline": "true"}})
        _events_until(own, BOB, _job_done(other), job_ids=[other])
        mine = _submit(own, ALICE, {"name": "mine", "package": {"cmdline": "true"}})
        done = _job_done(mine)
        for item in stream:
            if item.HasField("event"):
                live.append(item.event)
                if done(item.event):
                    break
    finally:
        stream.cancel()
    assert other not in {e.job_id for e in live}
    assert _owners(live) == {"alice"}
    assert mine in {e.job_id for e in live}


def test_host_events_and_listings_stay_visible(own: Farm) -> None:
    with own.client(ADMIN) as admin:
        admin.lock_hosts("testhost", "visibility test")
        admin.unlock_hosts("testhost")
    _, events = _stream(own, ALICE, after_seq=0, types=[event_pb2.EVENT_TYPE_HOST])
    names = {(e.host, e.name) for e in events}
    assert ("testhost", event_pb2.EVENT_NAME_LOCKED) in names
    assert ("testhost", event_pb2.EVENT_NAME_UNLOCKED) in names
    with own.client(ALICE) as alice:
        assert "testhost" in {h.name for h in alice.list_hosts().hosts}


def test_get_host_names_only_the_callers_running_frames(own: Farm) -> None:
    sleeper = _submit(own, BOB, {"name": "sleeper", "package": {"cmdline": "sleep 600"}})
    try:
        _events_until(
            own,
            BOB,
            lambda e: (
                e.event_type == event_pb2.EVENT_TYPE_WORK and e.name == event_pb2.EVENT_NAME_RUNNING
            ),
            job_ids=[sleeper],
        )
        with own.client(BOB) as bob:
            assert any(r.startswith(f"{sleeper}:") for r in bob.get_host("testhost").running)
        with own.client(ADMIN) as admin:
            assert any(r.startswith(f"{sleeper}:") for r in admin.get_host("testhost").running)
        with own.client(ALICE) as alice:
            host = alice.get_host("testhost")
            assert not any(r.startswith(f"{sleeper}:") for r in host.running)
            assert host.host.slots_in_use >= 1  # the farm's load stays visible, unnamed
    finally:
        with own.client(BOB) as bob:
            bob.control("kill", [sleeper])
        _events_until(own, BOB, _job_done(sleeper), job_ids=[sleeper])


def test_callback_runs_of_another_user_are_not_listed(own: Farm) -> None:
    with own.client(ALICE) as alice:
        assert {r.job_id for r in alice.callback_runs()} == {own.alice_job}
        assert list(alice.callback_runs(job_id=own.bob_job)) == []
        assert list(alice.callback_runs(callback_id=own.bob_callback)) == []
    with own.client(BOB) as bob:
        assert [r.output for r in bob.callback_runs(job_id=own.bob_job)] == ["bob\n"]
    with own.client(ADMIN) as admin:
        assert {own.alice_job, own.bob_job} <= {r.job_id for r in admin.callback_runs()}


def _finished_runs(farm: Farm, job_id: int) -> list[supervisor_pb2.CallbackRun]:
    """The job's runs that have ended (the farm fixture waited for one); a later firing may
    still be pending."""
    with farm.client(ALICE) as alice:
        runs = list(alice.callback_runs(job_id=job_id))
    return [r for r in runs if r.outcome != supervisor_pb2.CALLBACK_OUTCOME_UNSPECIFIED]


def test_callback_jobinfo_does_not_see_another_users_job(own: Farm, shared: Farm) -> None:
    # alice's callback fires for her job and for bob's (its trigger watches both): in every
    # run, qb.jobinfo knows nothing of bob's job under "own", and finds it under "all".
    runs = _finished_runs(own, own.alice_job)
    assert runs and all(r.outcome == supervisor_pb2.CALLBACK_OUTCOME_OK for r in runs), runs
    assert {r.output for r in runs} == {"sees 0 of 0\n"}
    runs = _finished_runs(shared, shared.alice_job)
    assert runs and {r.output for r in runs} == {"sees 1 of 1\n"}, runs


def test_a_trigger_naming_another_users_job_is_refused_as_for_a_missing_one(
    own: Farm,
) -> None:
    """A trigger on bob's job would tell alice when it ends, its labels and its work names."""
    answers = []
    for job_id in (own.bob_job, own.bob_job + 1000):  # bob's, and one that does not exist
        with own.client(ALICE) as alice:
            spec: dict[str, object] = {"name": "w", "package": {"cmdline": "true"}}
            spec["callbacks"] = [
                {"triggers": f"done-job-{job_id}", "language": "qube", "code": "unblock-self"}
            ]
            error = _refused(partial(alice.submit, [spec]))
            checked = alice.validate_trigger(f"done-job-{job_id}", job_id=own.alice_job)
        assert error.code == grpc.StatusCode.INVALID_ARGUMENT
        assert checked.HasField("error")
        answers.append(
            (str(error).replace(str(job_id), "N"), checked.error.message.replace(str(job_id), "N"))
        )
    assert answers[0] == answers[1], answers
    assert "bob" not in str(answers)
    with own.client(BOB) as bob:
        assert bob.validate_trigger(f"done-job-{own.bob_job}", job_id=own.bob_job).canonical


def test_validate_trigger_against_a_hidden_job_is_not_found(own: Farm) -> None:
    with own.client(ALICE) as alice:
        hidden = _refused(lambda: alice.validate_trigger("done-job-self", job_id=own.bob_job))
        assert alice.validate_trigger("done-job-self", job_id=own.alice_job).canonical
    assert hidden.code == grpc.StatusCode.NOT_FOUND
    assert hidden.message == f"job {own.bob_job} does not exist"


@pytest.mark.parametrize("hidden", [True, False], ids=["bobs", "missing"])
def test_changing_a_hidden_job_fails_as_for_a_missing_one(own: Farm, hidden: bool) -> None:
    job_id = own.bob_job if hidden else own.bob_job + 1000
    field_error = [("job_ids[0]", f"job {job_id} does not exist")]
    with own.client(ALICE) as alice:
        kill = _refused(lambda: alice.control("kill", [job_id]))
        assert kill.code == grpc.StatusCode.INVALID_ARGUMENT
        assert [(v.field, v.description) for v in kill.violations] == field_error
        modify = _refused(lambda: alice.modify_jobs(job_id, priority=1))
        assert [(v.field, v.description) for v in modify.violations] == field_error
        callback = {"triggers": "done-job-self", "language": "python", "code": "1"}
        add = _refused(lambda: alice.add_callbacks(job_id, [callback]))
        assert (add.code, add.message) == (
            grpc.StatusCode.NOT_FOUND,
            f"job {job_id} does not exist",
        )
        child = {"name": "child", "pid": job_id, "package": {"cmdline": "true"}}
        submit = _refused(lambda: alice.submit([child]))
        assert [(v.field, v.description) for v in submit.violations] == [
            ("jobs[0].pid", f"parent job {job_id} does not exist")
        ]
    if hidden:
        with own.client(ADMIN) as admin:
            assert admin.get_job(job_id).status == job_pb2.JOB_STATUS_COMPLETE


def test_all_shows_every_job_to_every_user(shared: Farm) -> None:
    with shared.client(ALICE) as alice:
        assert alice.get_job(shared.bob_job).user == "bob"
        assert {shared.alice_job, shared.bob_job} <= _ids(alice.list_jobs())
        work = alice.get_job(shared.bob_job).work[0].name
        assert alice.work_output(shared.bob_job, work).data == b"bob-secret\n"
        assert shared.bob_job in {r.job_id for r in alice.callback_runs()}
        denied = _refused(lambda: alice.control("kill", [shared.bob_job]))
        assert denied.code == grpc.StatusCode.PERMISSION_DENIED  # visible, not hers: as before
    snapshot, events = _stream(shared, ALICE, snapshot=True)
    assert {shared.alice_job, shared.bob_job} <= {job.id for job in snapshot}
    _, events = _stream(shared, ALICE, after_seq=0)
    assert _owners(events) == {"alice", "bob"}


def test_open_mode_shows_everything_whatever_visibility_says(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", slots=0, env={"LATCHWORK_VISIBILITY": "own"})
    server.start()
    try:
        with Client(server.address, user="bob") as bob:
            bob_job = bob.submit([{"name": "b", "package": {"cmdline": "true"}}]).jobs[0].id
        with Client(server.address, user="alice") as alice:
            assert alice.get_job(bob_job).user == "bob"
            assert bob_job in _ids(alice.list_jobs())
    finally:
        server.stop()


def test_visibility_setting_is_checked(tmp_path: Path) -> None:
    assert load_settings(env={}).visibility == "all"
    assert load_settings(env={"LATCHWORK_VISIBILITY": "own"}).visibility == "own"
    with pytest.raises(ConfigError, match="visibility = 'mine': use 'all' or 'own'"):
        load_settings(env={"LATCHWORK_VISIBILITY": "mine"})


def test_the_documented_example_configures_own(tmp_path: Path) -> None:
    page = (Path(__file__).resolve().parent.parent / "docs" / "configuration.md").read_text()
    section = page.split("### Read isolation", 1)[1]
    example = re.search(r"```toml\n(.*?)```", section, re.DOTALL)
    assert example is not None
    config = tmp_path / "latchwork.toml"
    config.write_text(example.group(1))
    settings = load_settings(config_file=config, env={})
    assert (settings.visibility, settings.tokens_file) == ("own", "/etc/latchwork/tokens.toml")


def test_the_rule_admins_and_open_mode_see_everything() -> None:
    own = ReadPolicy(Visibility.OWN, frozenset({"lead"}), tokens=True)
    assert own.scope("alice") == ReadScope("alice")
    assert own.scope("alice", admin=True) is EVERYTHING  # an admin token
    assert own.scope("lead") is EVERYTHING  # admin_users (callbacks are judged by name)
    assert ReadPolicy(Visibility.OWN, tokens=False).scope("alice") is EVERYTHING  # open mode
    assert ReadPolicy(Visibility.ALL, tokens=True).scope("alice") is EVERYTHING
    farm_event = Event(EventName.UP, EventType.HOST, host="node1")
    bobs_event = Event(EventName.COMPLETE, EventType.JOB, job_id=7, user="bob")
    assert ReadScope("alice").sees_event(farm_event)
    assert not ReadScope("alice").sees_event(bobs_event)
    assert ReadScope("bob").sees_event(bobs_event)
