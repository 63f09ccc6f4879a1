"""Reserved words of the languages whose generated code keeps proto names as written.

Python, Go, TypeScript/JavaScript and Java are the clients we ship; C++ is protoc's own
target and keeps snake_case field names as accessors, so a reserved name there comes out
mangled (``type_``). Languages that re-case every name (C#, Swift, Kotlin: ``Event``,
``Retry``) cannot collide this way and are not listed. Sources: the Go spec "Keywords";
JLS 17 §3.9 with the contextual keywords; ECMAScript 2024 reserved words and TypeScript's
contextual keywords; Python's keyword.kwlist and softkwlist; C++23 keywords and alternative
tokens.
"""

from __future__ import annotations

import keyword

GO = """break case chan const continue default defer else fallthrough for func go goto if
import interface map package range return select struct switch type var"""

JAVA = """abstract assert boolean break byte case catch char class const continue default do
double else enum extends final finally float for goto if implements import instanceof int
interface long native new package private protected public return short static strictfp super
switch synchronized this throw throws transient try void volatile while true false null
exports module non-sealed open opens permits provides record requires sealed to transitive uses
var when with yield"""

TYPESCRIPT = """break case catch class const continue debugger default delete do else enum
export extends false finally for function if import in instanceof new null return super
switch this throw true try typeof var void while with implements interface let package
private protected public static yield await abstract accessor any as asserts async bigint
boolean constructor declare from get global infer is keyof module namespace never number
object of out override readonly require satisfies set string symbol type undefined unique
unknown arguments eval"""

# "type" became a soft keyword in 3.12; listed here for any interpreter running the test.
PYTHON = " ".join([*keyword.kwlist, *keyword.softkwlist, "type"])

CPP = """alignas alignof and and_eq asm auto bitand bitor bool break case catch char char8_t
char16_t char32_t class compl concept const consteval constexpr constinit const_cast continue
co_await co_return co_yield decltype default delete do double dynamic_cast else enum explicit
export extern false float for friend goto if inline int long mutable namespace new noexcept
not not_eq nullptr operator or or_eq private protected public register reinterpret_cast
requires return short signed sizeof static static_assert static_cast struct switch template
this thread_local throw true try typedef typeid typename union unsigned using virtual void
volatile wchar_t while xor xor_eq"""

KEYWORDS: dict[str, frozenset[str]] = {
    language: frozenset(words.split())
    for language, words in {
        "Go": GO,
        "Java": JAVA,
        "TypeScript": TYPESCRIPT,
        "Python": PYTHON,
        "C++": CPP,
    }.items()
}
