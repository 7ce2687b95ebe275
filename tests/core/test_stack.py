"""Room on the frame stack for a request (core.stack): calls behave as without it, and a loop at
any depth below it maps no memory per call (CPython 3.11 maps a chunk of frames per call on a
chunk's boundary)."""

import resource

import pytest

from core.stack import with_stack_room


def test_with_stack_room_returns_what_the_call_returns():
    assert with_stack_room(lambda a, b=0: a + b, 2, b=3) == 5


def test_with_stack_room_lets_the_call_raise_and_serves_the_next_call_with_room_again():
    def fail():
        raise ValueError("no")

    with pytest.raises(ValueError, match="no"):
        with_stack_room(fail)
    assert with_stack_room(lambda: "again") == "again"


def test_nested_calls_make_room_once():
    import core.stack

    made = []
    real = core.stack._make_room

    def counting(call, args, kwargs):
        made.append(call)
        return real(call, args, kwargs)

    core.stack._make_room = counting
    try:
        assert with_stack_room(lambda: with_stack_room(lambda: 7)) == 7
    finally:
        core.stack._make_room = real
    assert len(made) == 1


def _chain(levels):
    return _chain(levels - 1) if levels else None


def _faults_of_calls_at(depth, calls=200):
    """Minor page faults of ``calls`` calls of a chain of a few functions, ``depth`` frames down."""
    if depth:
        return _faults_of_calls_at(depth - 1, calls)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(calls):
        _chain(8)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def test_a_loop_at_any_depth_below_the_room_maps_no_memory_per_call():
    faults = with_stack_room(lambda: max(_faults_of_calls_at(depth) for depth in range(400)))
    assert faults < 50  # a chunk mapped per call would fault at least once per call: 200
