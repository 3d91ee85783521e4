"""The one module that imports durable_rules, and the guards around its traps.

durable_rules 2.0.28 (unmaintained since 2020, pinned) is fast and correct when used so:

* **One private host per process**, never one per call. ``durable.engine.Host`` starts two
  timer threads that call into the C engine without any lock; :class:`_PrivateHost` starts
  none (this library uses no timers and no queued events), so nothing dispatches in the
  background while an evaluation runs.
* **One process-wide lock around each whole evaluation**: the C engine is not thread-safe
  (8 threads asserting into one ruleset segfault). Threads wait; processes scale out.
* **One fresh session per evaluation, deleted in ``finally``**: a ruleset holds at most 1,024
  live sessions. Deleting a session whose first fact matched nothing crashes the process,
  so every compiled ruleset has a session rule that matches the first fact of a session,
  and a session is deleted only once that rule has fired.
* **Actions are resolved by name** through :meth:`_PrivateHost.get_action` and called
  synchronously. durable_rules' own dispatcher swallows an exception raised in an action;
  here it propagates and the evaluation fails with :class:`~rsa_rules.errors.EngineError`.
* **Facts are checked before they are asserted**: flat, at most 252 properties, values of
  JSON-safe types only. A number reaches durable_rules exactly as Python holds it (the
  shortest decimal that reads back as the same float), written without an exponent, since
  durable_rules rejects ``1e-05``: both readings of a rule compare the same value.

Two dispatch paths run the same compiled ruleset. ``direct`` (the default) asserts through
the C engine and drains its agenda itself: one call per fired rule, no per-action JSON
decoding. ``host`` uses ``Host.assert_fact`` and durable_rules' own dispatcher; it is about
four times slower and is kept to check, in the tests and the benchmark, that both give the
same answer.

Everything above this module is engine-agnostic: it hands over flat records and gets back
the names of the rules that fired.
"""

from __future__ import annotations

import decimal
import itertools
import json
import math
import re
import threading
import warnings
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import durable.engine as _durable_engine
import durable_rules_engine as _c

from ..errors import EngineError

__all__ = ["Dispatch", "DurableRuleset"]

Dispatch = Literal["direct", "host"]

_LOCK = threading.Lock()
"""Held for each whole evaluation (assert ... delete) on any ruleset of this process."""

_MAX_PROPERTIES = 252
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_RULE_NAME = re.compile(r"^[A-Za-z0-9_#:.-]+$")
_RESERVED = frozenset({"sid", "id", "$s"})
_MAX_FLOAT = 1e15
"""Floats at or above this are refused: ``repr`` writes an exponent from 1e16 on."""
_EXPONENT_BELOW = 1e-4
"""``repr`` writes an exponent for a nonzero float whose magnitude is below this."""
_GOOD_KEYS: set[str] = set()
_HANDLED, _NOT_HANDLED = 0, 1
_ENCODE = json.JSONEncoder(check_circular=False, separators=(",", ":")).encode


class _PrivateHost(_durable_engine.Host):  # type: ignore[misc]
    """A durable_rules host with no background dispatch and actions looked up by name."""

    def __init__(self) -> None:
        self._actions: dict[str, Callable[[Any], None]] = {}
        super().__init__()

    def _run(self) -> None:
        """Start no timer threads: nothing here uses durable_rules timers or queued events."""

    def get_action(self, action_name: str) -> Callable[[Any], None]:
        try:
            return self._actions[action_name]
        except KeyError:
            raise EngineError(f"no action registered for rule {action_name!r}") from None


class _Run:
    """What one evaluation collected: fired rule names, and whether its session is open."""

    __slots__ = ("errors", "fired", "on_fire", "session_open")

    def __init__(self, on_fire: Callable[[str], None] | None) -> None:
        self.fired: list[str] = []
        self.errors: list[BaseException] = []
        self.session_open = False
        self.on_fire = on_fire


_HOST: _PrivateHost | None = None
_REGISTERED: set[str] = set()
_REGISTERED_RULES: dict[str, tuple[str, ...]] = {}
_CURRENT: list[_Run | None] = [None]  # the evaluation in progress (only touched under _LOCK)
_SESSIONS = itertools.count(1)


def _host() -> _PrivateHost:
    global _HOST
    if _HOST is None:
        _HOST = _PrivateHost()
    return _HOST


def _make_action(name: str, session_rule: str) -> Callable[[Any], None]:
    """The action of one rule: record that it fired (one parameter: synchronous)."""

    def action(_closure: Any) -> None:
        run = _CURRENT[0]
        if run is None:
            raise EngineError(f"rule {name!r} fired outside an evaluation")
        if name == session_rule:
            run.session_open = True
            return
        run.fired.append(name)
        if run.on_fire is not None:
            run.on_fire(name)

    return action


def _guarded(action: Callable[[Any], None]) -> Callable[[Any], None]:
    """For the host path: durable_rules would swallow an exception, so keep it to re-raise."""

    def wrapper(closure: Any) -> None:
        try:
            action(closure)
        except BaseException as error:  # noqa: BLE001 - kept and re-raised after the assert
            run = _CURRENT[0]
            if run is not None:
                run.errors.append(error)

    return wrapper


class DurableRuleset:
    """A compiled, stratified ruleset registered on this process's private host.

    ``strata`` lists, per stratum, its marker (the value of ``marker_key`` its rules match),
    which fired rule sets which derived fact (``"yes"`` when it fired, ``"no"`` otherwise)
    for the strata above, and which facts its rules read (only those are asserted).
    """

    def __init__(
        self,
        name: str,
        ruleset: Mapping[str, Mapping[str, Any]],
        strata: Sequence[
            tuple[str, Mapping[str, str], Sequence[str], Sequence[Sequence[tuple[str, Any]] | None]]
        ],
        session_rule: str,
        marker_key: str,
    ) -> None:
        if session_rule not in ruleset:
            raise EngineError(f"ruleset {name!r} has no session rule {session_rule!r}")
        for rule_name in ruleset:
            if not _RULE_NAME.match(rule_name):
                raise EngineError(f"rule name {rule_name!r} is not allowed")
        self.name = name
        self.session_rule = session_rule
        self.marker_key = marker_key
        derived_names = {fact for _, outputs, _, _ in strata for fact in outputs.values()}
        self.strata = [
            (
                marker,
                dict(outputs),
                tuple(r for r in reads if r not in derived_names),
                tuple(r for r in reads if r in derived_names),
                # Skippable when every rule has a guard and no guard holds.
                None
                if any(g is None for g in guards)
                else tuple(tuple(g) for g in guards if g is not None),
            )
            for marker, outputs, reads, guards in strata
        ]
        with _LOCK:
            host = _host()
            if name not in _REGISTERED:
                definition = json.loads(json.dumps(ruleset))  # durable_rules edits what it gets
                for rule_name in definition:
                    host._actions[rule_name] = _make_action(rule_name, session_rule)
                    host._actions[rule_name + "\0host"] = _guarded(host._actions[rule_name])
                    definition[rule_name]["run"] = rule_name + "\0host"
                try:
                    host.register_rulesets({name: definition})
                except Exception as error:
                    raise EngineError(
                        f"durable_rules rejected ruleset {name!r}: {error}"
                    ) from error
                _REGISTERED.add(name)
                _REGISTERED_RULES[name] = tuple(definition)
            self._handle: int = host.get_ruleset(name)._handle
            # Actions resolved by name once, through the host: rule name -> action.
            self._actions = {rule: host.get_action(rule) for rule in _REGISTERED_RULES[name]}

    def run(
        self,
        record: Mapping[str, Any],
        *,
        dispatch: Dispatch = "direct",
        on_fire: Callable[[str], None] | None = None,
    ) -> list[str]:
        """Assert one patient, stratum by stratum, in a fresh session; return what fired.

        ``on_fire`` (for tests and tracing) is called with each fired rule name from inside
        the rule's action, so an exception it raises takes the path a failing action would.
        """
        base, positional = _checked(record)
        encode = _encode_positional if positional else _ENCODE
        with _LOCK:
            sid = str(next(_SESSIONS))
            run = _Run(on_fire)
            _CURRENT[0] = run
            host = _host()
            derived: dict[str, str] = {}
            try:
                for index, (marker, outputs, reads, derived_reads, guards) in enumerate(
                    self.strata
                ):
                    # Only what this stratum's rules read is asserted.
                    fact = {key: base[key] for key in reads}
                    for key in derived_reads:
                        fact[key] = derived[key]
                    if index and guards is not None and not _any_guard_holds(guards, fact):
                        for derived_fact in outputs.values():
                            derived[derived_fact] = "no"
                        continue  # no rule of this stratum can fire
                    fact[self.marker_key] = marker
                    fact["sid"] = sid
                    fact["id"] = marker
                    start = len(run.fired)
                    if dispatch == "direct":
                        self._assert_direct(host, encode(fact), run)
                    else:
                        self._assert_host(host, fact, encode(fact), run)
                    if index == 0 and not run.session_open:
                        raise EngineError("the session rule did not fire")
                    fired_here = set(run.fired[start:])
                    for rule_name, derived_fact in outputs.items():
                        derived[derived_fact] = "yes" if rule_name in fired_here else "no"
                return run.fired
            except EngineError:
                raise
            except Exception as error:
                raise EngineError(f"a rule action failed: {error!r}") from error
            finally:
                _CURRENT[0] = None
                if run.session_open:
                    _c.delete_state(self._handle, sid)

    def _assert_direct(self, host: _PrivateHost, encoded: str, run: _Run) -> None:
        try:
            code, state = _c.assert_fact(self._handle, encoded)
        except Exception as error:
            raise EngineError(f"durable_rules failed: {error}") from error
        if code == _NOT_HANDLED:
            return  # nothing in this stratum applies
        if code != _HANDLED:
            raise EngineError(f"durable_rules answered {code} to a patient fact")
        handle = self._handle
        actions = self._actions
        complete = _c.complete_and_start_action
        result = _c.start_action_for_state(handle, state)
        messages = result[1] if result is not None else None
        while messages is not None:
            # durable_rules writes {"RULE NAME": {...the fact...}}: the name is all we need.
            end = messages.find('"', 2)
            name = messages[2:end] if messages.startswith('{"') and end > 2 else None
            action = actions.get(name) if name is not None else None
            if action is None:
                action = host.get_action(_action_name(messages))
            action(None)
            messages = complete(handle, state)

    def _assert_host(
        self, host: _PrivateHost, fact: dict[str, Any], encoded: str, run: _Run
    ) -> None:
        # durable_rules' own assert and dispatcher (Host.assert_fact), with the fact written
        # as the direct path writes it: Host.assert_fact would write it with json.dumps,
        # exponents included.
        rules = host.get_ruleset(self.name)

        def assert_encoded(message: dict[str, Any]) -> Any:
            return rules._handle_result(_c.assert_fact(rules._handle, encoded), message)

        try:
            with warnings.catch_warnings():
                # durable_rules' own dispatcher calls datetime.utcfromtimestamp(), deprecated
                # from Python 3.12 on; the direct path does not use that code.
                warnings.filterwarnings(
                    "ignore",
                    message=r"datetime\.datetime\.utcfromtimestamp",
                    category=DeprecationWarning,
                )
                host._handle_function(rules, assert_encoded, fact, None)
        except _durable_engine.MessageNotHandledException:
            pass  # nothing in this stratum applies
        except Exception as error:
            raise EngineError(f"durable_rules failed: {error}") from error
        if run.errors:
            raise run.errors[0]


def _any_guard_holds(
    guards: tuple[tuple[tuple[str, Any], ...], ...], fact: Mapping[str, Any]
) -> bool:
    for guard in guards:
        for key, value in guard:
            if fact.get(key) == value:
                return True
    return False


def _action_name(messages: str) -> str:
    """The rule name of a durable_rules action message ``{"NAME": {...}}``."""
    if messages.startswith('{"'):
        end = messages.find('"', 2)
        if end > 2:
            return messages[2:end]
    decoded = json.loads(messages)  # pragma: no cover - durable_rules always writes the above
    return str(next(iter(decoded)))  # pragma: no cover


_PLAIN = frozenset((str, int, bool))
"""Value types that need no check (exact types: a subclass goes through the full check)."""


def _checked(record: Mapping[str, Any]) -> tuple[Mapping[str, Any], bool]:
    """The record, checked (names durable_rules accepts, JSON-safe values, finite floats), and
    whether a float in it needs :func:`_encode_positional` (its ``repr`` has an exponent)."""
    if len(record) + 3 > _MAX_PROPERTIES:
        raise EngineError(f"a fact may have at most {_MAX_PROPERTIES - 3} properties")
    if _GOOD_KEYS.issuperset(record) and _PLAIN.issuperset(map(type, record.values())):
        return record, False  # names seen before, and no float: nothing more to check
    positional = False
    for key, value in record.items():
        if key not in _GOOD_KEYS:
            if not _KEY.match(key) or key in _RESERVED:
                raise EngineError(f"engine fact name {key!r} is not allowed")
            _GOOD_KEYS.add(key)
        kind = type(value)
        if kind is float:
            if not math.isfinite(value) or abs(value) >= _MAX_FLOAT:
                raise EngineError(f"engine fact {key} is not a finite number below {_MAX_FLOAT:g}")
            if value and abs(value) < _EXPONENT_BELOW:
                positional = True
        elif kind is not str and kind is not int and kind is not bool:
            raise EngineError(f"engine fact {key} has a value of type {kind.__name__}")
    return record, positional


def _positional(value: float) -> str:
    """``value`` as the shortest decimal that reads back as it, without an exponent."""
    return format(decimal.Decimal(repr(value)), "f")


def _encode_positional(fact: Mapping[str, Any]) -> str:
    """The fact as JSON, every float without an exponent (for the rare fact that needs it)."""
    parts = (
        f"{_ENCODE(key)}:{_positional(value) if type(value) is float else _ENCODE(value)}"
        for key, value in fact.items()
    )
    return "{" + ",".join(parts) + "}"
