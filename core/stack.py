"""Room on the interpreter's frame stack for a whole request (a work-around for CPython before the
fix of https://github.com/python/cpython/issues/142183).

CPython 3.11 keeps the frames of Python functions in chunks of 16 KiB. A call that does not fit
in the current chunk maps a new one, and the return from that call unmaps it again: a loop that
calls functions at exactly that depth maps and unmaps memory (two system calls and a few page
faults) on every call, and runs five to ten times slower. A Django request is deep enough (about
130 frames fill a chunk) that some of its loops sit on such a boundary: the rows of a list page,
the widgets of a form. On the member list that was 1,700 page faults and a third of the request's
CPU in the kernel.

:func:`with_stack_room` calls a function inside a frame with many (never used) local variables:
the interpreter gives that frame a chunk of its own of the next power of two that holds it and
1,000 slots more, 128 KiB here, and the frames called from it fill the rest (about 70 KiB, some
500 frames of Django) before another chunk is needed. The cost is one chunk mapped and its first
pages touched per call (a few dozen microseconds); it is taken once per thread when the calls nest.
"""

import threading

#: Local variables of the room-making frame (8 bytes each): 7,200 make it ask for a 128 KiB chunk.
SLOTS = 7200

_inside = threading.local()


def _room_maker(slots):
    """``make_room(call, *args)``: ``call(*args)`` in a frame of ``slots`` local variables."""
    names = " = ".join(f"_{index}" for index in range(slots))
    source = (
        "def make_room(call, args, kwargs, spill=False):\n"
        "    if spill:  # never: the names only make the frame large\n"
        f"        {names} = None\n"
        "    return call(*args, **kwargs)\n"
    )
    namespace = {}
    exec(compile(source, "<core.stack>", "exec"), namespace)  # noqa: S102 (source built above from numbers)
    return namespace["make_room"]


_make_room = _room_maker(SLOTS)


def with_stack_room(call, *args, **kwargs):
    """``call(*args, **kwargs)`` with room on the frame stack (once per thread when nested)."""
    if getattr(_inside, "active", False):
        return call(*args, **kwargs)
    _inside.active = True
    try:
        return _make_room(call, args, kwargs)
    finally:
        _inside.active = False
