"""Routing: which host may run which job's frames (issue 12, items 3 and 4).

Qube's routing attributes, read once at submit and checked many times by the scheduler:
``reservations`` (what a frame takes from its host and from global resources while it runs),
``requirements`` (an expression over the host), ``hosts``/``omithosts``,
``groups``/``omitgroups``, ``cluster`` with ``restrictions``; and the admin-configured global
resources (licence counters) that reservations draw on.

Like the rest of the core this package is pure: the standard library only, no I/O, no clock.
The host registry, the store and the scheduler hold the state; these modules only decide.

- :mod:`.hosts`: the host as routing sees it (resources, properties, groups, cluster, state,
  what is in use).
- :mod:`.requirements`: the ``requirements`` expression, parsed once (its tree in
  :mod:`.requirements_syntax`), compiled to a closure (:mod:`.requirements_eval`).
- :mod:`.reservations`: the ``reservations`` string.
- :mod:`.restrictions`: cluster paths and the ``restrictions`` expression.
- :mod:`.licences`: global resource counters, taken and given back per frame.
- :mod:`.routing`: whether a host suits a job now, and why not.
- :mod:`.errors`: the one syntax error all the parsers raise (message, offset, field).
"""
