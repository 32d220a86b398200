"""RPM boolean ("rich") dependencies: ``(a or b)``, ``(a >= 1 and (b or c))``, ``(a if b)``.

Parsed into a small tree and judged against a ``providers`` function: the set of packages
that satisfy a simple dependency. Sets, not booleans, because ``with``/``without`` need the
*same* package to satisfy both sides.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from release.repodata import Dep
from release.repodata_evr import OPERATORS, Evr

MAX_DEPTH = 32
OPS = ("and", "or", "if", "else", "unless", "with", "without")
MET = frozenset({"<condition not met>"})  # an "if" whose condition is not installable


class RichError(ValueError):
    """Not a valid boolean dependency; the message says where."""


@dataclass(frozen=True)
class Simple:
    dep: Dep


@dataclass(frozen=True)
class Op:
    op: str
    args: tuple[Node, ...]


Node = Simple | Op
Providers = Callable[[Dep], frozenset[str]]


def is_rich(text: str) -> bool:
    return text.startswith("(")


def parse_rich(text: str) -> Node:
    tokens = _tokens(text)
    node, pos = _group(tokens, 0, text, 0)
    if pos != len(tokens):
        raise RichError(f"{text[:120]!r}: text after the closing parenthesis")
    return node


def _tokens(text: str) -> list[str]:
    """Words and parentheses; a name keeps balanced parentheses (``libc.so.6()(64bit)``)."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            out.append(ch)
            i += 1
        else:
            start, depth = i, 0
            while i < len(text) and not text[i].isspace():
                if text[i] == "(":
                    depth += 1
                elif text[i] == ")":
                    if depth == 0:
                        break
                    depth -= 1
                i += 1
            out.append(text[start:i])
    return out


def _group(tokens: list[str], pos: int, text: str, depth: int) -> tuple[Node, int]:
    if depth > MAX_DEPTH:
        raise RichError(f"{text[:120]!r}: nested deeper than {MAX_DEPTH}")
    if pos >= len(tokens) or tokens[pos] != "(":
        raise RichError(f"{text[:120]!r}: a boolean dependency starts with '('")
    operands: list[Node] = []
    ops: list[str] = []
    pos += 1
    while True:
        if pos >= len(tokens):
            raise RichError(f"{text[:120]!r}: missing ')'")
        if tokens[pos] == "(":
            node, pos = _group(tokens, pos, text, depth + 1)
        else:
            node, pos = _simple(tokens, pos, text)
        operands.append(node)
        if pos >= len(tokens):
            raise RichError(f"{text[:120]!r}: missing ')'")
        if tokens[pos] == ")":
            return _combine(operands, ops, text), pos + 1
        if tokens[pos] not in OPS:
            raise RichError(f"{text[:120]!r}: {tokens[pos][:40]!r} is not one of "
                            f"{', '.join(OPS)}")
        ops.append(tokens[pos])
        pos += 1


def _simple(tokens: list[str], pos: int, text: str) -> tuple[Simple, int]:
    name = tokens[pos]
    if name == ")" or name in OPS:
        raise RichError(f"{text[:120]!r}: a name is missing before {name!r}")
    if pos + 2 < len(tokens) and tokens[pos + 1] in OPERATORS:
        try:
            evr = Evr.parse(tokens[pos + 2])
        except ValueError as exc:
            raise RichError(f"{text[:120]!r}: {exc}") from None
        return Simple(Dep(name, OPERATORS[tokens[pos + 1]], evr)), pos + 3
    return Simple(Dep(name)), pos + 1


def _combine(operands: list[Node], ops: list[str], text: str) -> Node:
    if not ops:
        return operands[0]
    if ops[0] in ("if", "unless"):
        if ops[1:] not in ([], ["else"]):
            raise RichError(f"{text[:120]!r}: '{ops[0]}' takes one condition and an "
                            "optional 'else'")
        return Op(ops[0], tuple(operands))
    if len(set(ops)) != 1 or ops[0] == "else":
        raise RichError(f"{text[:120]!r}: mixed operators need parentheses")
    if ops[0] in ("with", "without") and len(operands) != 2:
        raise RichError(f"{text[:120]!r}: '{ops[0]}' joins exactly two names")
    return Op(ops[0], tuple(operands))


def leaves(node: Node) -> list[Dep]:
    if isinstance(node, Simple):
        return [node.dep]
    return [dep for arg in node.args for dep in leaves(arg)]


def satisfied_by(node: Node, providers: Providers) -> frozenset[str]:
    """The packages that satisfy ``node``; empty: not satisfiable from these repositories.

    ``(A if B)``: A is needed when B can be installed at all (the check cannot know whether
    B will be); ``(A unless B)`` is met by A or by B being installable.
    """
    if isinstance(node, Simple):
        return providers(node.dep)
    sets = [satisfied_by(arg, providers) for arg in node.args]
    if node.op == "and":
        return frozenset().union(*sets) if all(sets) else frozenset()
    if node.op == "or":
        return frozenset().union(*sets)
    if node.op == "with":
        return sets[0] & sets[1]
    if node.op == "without":
        return sets[0] - sets[1]
    then, cond = sets[0], sets[1]
    other = sets[2] if len(sets) > 2 else MET
    if node.op == "if":
        return then if cond else other
    return (then | cond) if len(sets) == 2 else (then | other)  # unless
