"""Does a host suit a job's frame now, and why not: the rules, their reasons across the farm,
and the agreement between the fast check and the explained one."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from latchwork.server.core.routing.hosts import Host, HostState, Resources, Usage
from latchwork.server.core.routing.licences import GlobalResources
from latchwork.server.core.routing.reservations import host_share
from latchwork.server.core.routing.restrictions import parse_restrictions
from latchwork.server.core.routing.routing import (
    ANYWHERE,
    ROUTING_ATTRIBUTES,
    Check,
    JobRouting,
    Refusal,
    RoutingRejected,
    could_ever_run,
    explain_wait,
    parse_name_list,
    parse_routing,
    suits,
    why_never,
    why_not,
)


def host(
    name: str,
    memory: int = 16000,
    slots: int = 4,
    gpus: int = 0,
    groups: tuple[str, ...] = (),
    cluster: str = "/",
    os: str = "linux",
    **kwargs: object,
) -> Host:
    return Host(
        name,
        Resources(cores=slots, memory_mb=memory, gpus=gpus, os=os, arch="x86_64"),
        slots_total=slots,
        groups=frozenset(groups),
        cluster=cluster,
        **kwargs,  # type: ignore[arg-type]
    )


def job(**attributes: str) -> JobRouting:
    return parse_routing(attributes, known_globals={"nuke", "maya"})


FARM = [
    host("a01", groups=("comp",), cluster="/show/comp"),
    host("a02", groups=("comp", "gpu"), gpus=2, memory=64000, cluster="/show/light"),
    host("b01", os="winnt", cluster="/other"),
]


def names_that_suit(routing: JobRouting, hosts: list[Host] = FARM) -> set[str]:
    return {h.name for h in hosts if suits(routing, h)}


# --- parsing ----------------------------------------------------------------------------------


def test_the_default_routes_anywhere() -> None:
    assert parse_routing({}) == ANYWHERE
    assert parse_routing(dict.fromkeys(ROUTING_ATTRIBUTES, "  ")) == ANYWHERE
    assert names_that_suit(ANYWHERE) == {"a01", "a02", "b01"}


def test_every_bad_attribute_is_named_with_its_offset() -> None:
    with pytest.raises(RoutingRejected) as caught:
        parse_routing(
            {
                "requirements": "host.memory >",
                "reservations": "host.memory=1,global.nkue=1",
                "hosts": "a01,,a02",
                "cluster": "show",
                "restrictions": "/a/*/b",
                "groups": "comp",
            },
            known_globals={"nuke"},
        )
    found = {(e.field, e.offset) for e in caught.value.errors}
    assert found == {
        ("reservations", 21),
        ("requirements", 13),
        ("hosts", 4),
        ("cluster", 0),
        ("restrictions", 3),
    }
    assert "requirements: unexpected end at 13" in str(caught.value)


def test_name_lists() -> None:
    assert parse_name_list(" a01 , a02.studio ") == {"a01", "a02.studio"}
    with pytest.raises(ValueError, match="not a host name"):
        parse_name_list("a01,-x")


# --- the rules --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("attributes", "expected"),
    [
        ({"hosts": "a01,b01"}, {"a01", "b01"}),
        ({"omithosts": "a01"}, {"a02", "b01"}),
        ({"groups": "gpu,lighting"}, {"a02"}),
        ({"groups": "comp", "omitgroups": "gpu"}, {"a01"}),
        ({"restrictions": "/show/+"}, {"a01", "a02"}),
        ({"restrictions": "/show/comp || /other"}, {"a01", "b01"}),
        ({"cluster": "/show/comp"}, {"a01", "a02", "b01"}),  # a cluster alone excludes nothing
        ({"requirements": "host.os == linux and host.gpus"}, {"a02"}),
        ({"requirements": "host.os == winnt"}, {"b01"}),
        ({"reservations": "host.memory=32000"}, {"a02"}),
        ({"reservations": "host.processors=5"}, set()),
        ({"reservations": "host.gpus=1"}, {"a02"}),
    ],
)
def test_routing_attributes_choose_hosts(attributes: dict[str, str], expected: set[str]) -> None:
    assert names_that_suit(job(**attributes)) == expected


def test_a_host_restriction_admits_only_jobs_of_its_clusters() -> None:
    dedicated = host("d01", cluster="/show/comp", restrictions=parse_restrictions("/show/+"))
    assert suits(job(cluster="/show/comp"), dedicated)
    assert not suits(job(), dedicated)  # the root cluster is not below /show
    assert str(why_not(job(), dedicated)) == "host restrictions exclude cluster /"


def test_only_an_up_host_with_free_capacity_suits() -> None:
    routing = job(reservations="host.processors=2,host.memory=8000")
    base = host("h", memory=16000, slots=4)
    assert suits(routing, base)
    assert not suits(routing, base.with_state(HostState.LOCKED))
    assert not suits(routing, base.with_state(HostState.DOWN))
    assert not suits(routing, base.with_usage(Usage(slots=3)))
    assert not suits(routing, base.with_usage(Usage(memory_mb=8001)))
    assert suits(routing, base.with_usage(Usage(slots=2, memory_mb=8000)))


def test_reasons_for_one_host() -> None:
    big = host("a02", groups=("gpu",), gpus=2, memory=64000, slots=8)
    assert why_not(job(), big.with_state(HostState.LOCKED)) == Refusal(Check.STATE, "host locked")
    assert str(why_not(job(hosts="x,y"), big)) == "not one of hosts x,y"
    assert str(why_not(job(omithosts="a02"), big)) == "in omithosts"
    assert str(why_not(job(groups="comp"), big)) == "in none of groups comp"
    assert str(why_not(job(omitgroups="gpu,x"), big)) == "in omitgroups gpu"
    assert str(why_not(job(restrictions="/x"), big)) == "cluster outside restrictions /x"
    assert str(why_not(job(reservations="host.memory=128000"), big)) == (
        "less than 128000 MB memory"
    )
    assert why_not(job(reservations="host.processors=9"), big) == Refusal(
        Check.SIZE, "fewer than 9 slots"
    )
    busy = big.with_usage(Usage(slots=7, gpus=2))
    assert why_not(job(reservations="host.processors=2"), busy) == Refusal(
        Check.BUSY, "fewer than 2 free slots"
    )
    assert str(why_not(job(reservations="host.gpus=1"), busy)) == "fewer than 1 free GPU"
    assert str(why_not(job(requirements="host.gpus and host.memory >= 100000"), big)) == (
        "requirements not met: host.memory >= 100000"
    )
    licences = GlobalResources({"nuke": 1})
    licences.take("other", {"nuke": 1})
    assert why_not(job(reservations="global.nuke=1"), big, licences) == Refusal(
        Check.LICENCE, "licence nuke 1/1 in use"
    )


def test_why_never_ignores_state_and_usage_but_not_size() -> None:
    small = host("s", memory=8000, slots=2).with_state(HostState.DOWN).with_usage(Usage(slots=2))
    assert why_never(job(reservations="host.processors=2"), small) is None
    assert why_never(job(requirements="host.processors.avail >= 2"), small) is None
    assert why_never(job(reservations="host.memory=9000"), small) == Refusal(
        Check.SIZE, "less than 9000 MB memory"
    )


# --- across the farm --------------------------------------------------------------------------


def test_a_job_no_host_can_ever_run_says_why() -> None:
    explanation = explain_wait(job(requirements="host.memory >= 128000"), FARM)
    assert (explanation.runnable, explanation.could_ever) == (False, False)
    assert str(explanation) == (
        "no host can ever run this job: all 3 hosts: requirements not met: host.memory >= 128000"
    )
    assert not could_ever_run(job(requirements="host.memory >= 128000"), FARM)


def test_reasons_are_counted_across_hosts() -> None:
    explanation = explain_wait(job(groups="gpu", reservations="host.memory=128000"), FARM)
    assert explanation.reasons == (
        "2 of 3 hosts: in none of groups gpu",
        "1 of 3 hosts: less than 128000 MB memory",
    )
    assert explain_wait(job(), []).reasons == ("no hosts are registered",)
    assert str(explain_wait(job(), [FARM[0]])) == "runnable"


def test_a_busy_farm_is_a_wait_not_a_never() -> None:
    farm = [h.with_usage(Usage(slots=h.slots_total)) for h in FARM]
    farm[2] = farm[2].with_state(HostState.DOWN)
    explanation = explain_wait(job(), farm)
    assert (explanation.runnable, explanation.could_ever) == (False, True)
    assert explanation.reasons == (
        "2 of 3 hosts: fewer than 1 free slot",
        "1 of 3 hosts: host down",
    )
    assert could_ever_run(job(), farm)


def test_licences_in_the_explanation() -> None:
    licences = GlobalResources({"nuke": 10})
    licences.take("others", {"nuke": 10})
    explanation = explain_wait(job(reservations="global.nuke=1"), FARM, licences)
    assert str(explanation) == "waiting: licence nuke 10/10 in use"
    never = explain_wait(job(reservations="global.nuke=11"), FARM, licences)
    assert str(never) == "no host can ever run this job: licence nuke: 11 wanted, limit 10"
    assert not could_ever_run(job(reservations="global.nuke=11"), FARM, licences)
    unconfigured = explain_wait(job(reservations="global.maya=1"), FARM, licences)
    assert unconfigured.reasons == ("global resource 'maya' is not configured",)


# --- the fast check and the explained one agree -----------------------------------------------

_hosts = st.builds(
    host,
    name=st.sampled_from(["a01", "a02", "b01", "c01"]),
    memory=st.sampled_from([0, 8000, 16000, 64000]),
    slots=st.integers(0, 8),
    gpus=st.integers(0, 2),
    groups=st.lists(st.sampled_from(["comp", "gpu", "fx"]), max_size=2).map(tuple),
    cluster=st.sampled_from(["/", "/show", "/show/comp", "/other"]),
    os=st.sampled_from(["linux", "winnt"]),
    state=st.sampled_from(list(HostState)),
    in_use=st.builds(
        Usage, st.integers(0, 8), st.sampled_from([0, 8000, 60000]), st.integers(0, 2)
    ),
    restrictions=st.one_of(
        st.none(), st.sampled_from(["/show/+", "/", "/other || /show"]).map(parse_restrictions)
    ),
)  # fmt: skip
_jobs = st.fixed_dictionaries(
    {},
    optional={
        "hosts": st.sampled_from(["a01", "a01,b01", "c01"]),
        "omithosts": st.sampled_from(["a02", "b01,c01"]),
        "groups": st.sampled_from(["comp", "gpu,fx"]),
        "omitgroups": st.sampled_from(["fx", "comp"]),
        "cluster": st.sampled_from(["/show/comp", "/other", "/"]),
        "restrictions": st.sampled_from(["/show/+", "/other || /", "/show/*"]),
        "requirements": st.sampled_from(
            ["host.os == linux", "host.gpus", "host.memory.avail >= 8000 or host.cores > 4",
             "not host.groups has gpu"]
        ),
        "reservations": st.sampled_from(
            ["host.processors=2", "host.memory=8000,host.gpus=1", "global.nuke=1",
             "host.processors=1,global.maya=2"]
        ),
    },
).map(lambda attributes: job(**attributes))  # fmt: skip


@given(_jobs, _hosts, st.integers(0, 3))
@settings(max_examples=1500, suppress_health_check=[HealthCheck.too_slow])
def test_suits_is_why_not_without_the_message(routing: JobRouting, h: Host, nuke: int) -> None:
    licences = GlobalResources({"nuke": 2, "maya": 2})
    for holder in range(nuke):
        licences.take(holder, {"nuke": 1})
    assert suits(routing, h, licences) == (why_not(routing, h, licences) is None)
    assert suits(routing, h) == (why_not(routing, h) is None)
    if suits(routing, h):
        assert why_never(routing, h) is None  # what suits now could ever


def test_a_licence_limit_of_two_never_runs_three_frames() -> None:
    """The scheduler's loop in miniature: hosts with free slots, a job reserving global.nuke=1,
    frames starting and ending in a fixed interleaving."""
    licences = GlobalResources({"nuke": 2})
    routing = job(reservations="global.nuke=1")
    farm = {h.name: h for h in (host(f"h{i}", slots=4) for i in range(5))}
    running: dict[str, str] = {}
    for step in range(200):
        if step % 3 == 2 and running:
            lease = sorted(running)[step % len(running)]
            name = running.pop(lease)
            licences.give_back(lease)
            farm[name] = farm[name].with_usage(
                farm[name].in_use.minus(*host_share(routing.reservation))
            )
            continue
        for h in farm.values():
            lease = f"lease-{step}"
            if (
                suits(routing, h, licences)
                and licences.take(lease, routing.reservation.global_amounts) is None
            ):
                running[lease] = h.name
                farm[h.name] = h.with_usage(h.in_use.plus(*host_share(routing.reservation)))
                break
        assert len(running) <= 2
        assert licences.in_use("nuke") == len(running)
