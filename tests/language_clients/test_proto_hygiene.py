"""The protos generate pleasant code in every language (issue 6, item 5).

Checked on the compiled descriptors, so the test sees exactly what every generator sees.
Comments on every element are enforced by ``buf lint`` (COMMENTS) in ``make lint``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import FileDescriptor

from latchwork.v1 import event_pb2, job_pb2, supervisor_pb2, trigger_pb2, worker_pb2
from tests.language_clients.keywords import KEYWORDS

FILES: list[FileDescriptor] = [
    event_pb2.DESCRIPTOR,
    job_pb2.DESCRIPTOR,
    supervisor_pb2.DESCRIPTOR,
    trigger_pb2.DESCRIPTOR,
    worker_pb2.DESCRIPTOR,
]


def _names(proto: descriptor_pb2.FileDescriptorProto) -> Iterator[tuple[str, str]]:
    """(where, identifier) for every name a generator turns into code."""

    def message(m: descriptor_pb2.DescriptorProto, path: str) -> Iterator[tuple[str, str]]:
        yield path, m.name
        for f in m.field:
            yield f"{path}.{f.name}", f.name
            if f.json_name != f.name:
                yield f"{path}.{f.name} (as {f.json_name})", f.json_name
        for o in m.oneof_decl:
            yield f"{path}.{o.name} (oneof)", o.name
        for nested in m.nested_type:
            yield from message(nested, f"{path}.{nested.name}")
        for e in m.enum_type:
            yield from enum(e, f"{path}.{e.name}")

    def enum(e: descriptor_pb2.EnumDescriptorProto, path: str) -> Iterator[tuple[str, str]]:
        yield path, e.name
        for value in e.value:
            yield f"{path}.{value.name}", value.name

    for m in proto.message_type:
        yield from message(m, m.name)
    for e in proto.enum_type:
        yield from enum(e, e.name)
    for service in proto.service:
        yield service.name, service.name
        for method in service.method:
            yield f"{service.name}.{method.name}", method.name
            lower_camel = method.name[0].lower() + method.name[1:]  # TS and Java stubs
            yield f"{service.name}.{method.name} (as {lower_camel})", lower_camel


def _file_proto(file: FileDescriptor) -> descriptor_pb2.FileDescriptorProto:
    proto = descriptor_pb2.FileDescriptorProto()
    file.CopyToProto(proto)
    return proto


def _collisions(proto: descriptor_pb2.FileDescriptorProto) -> list[str]:
    return [
        f"{proto.name}: {where} is a keyword in {language}"
        for where, name in _names(proto)
        for language, words in KEYWORDS.items()
        if name in words
    ]


def test_no_name_is_a_keyword_in_any_target_language() -> None:
    assert [c for proto in map(_file_proto, FILES) for c in _collisions(proto)] == []


def test_the_keyword_check_sees_fields_and_their_json_names() -> None:
    bad = descriptor_pb2.FileDescriptorProto(name="bad.proto")
    message = bad.message_type.add(name="Thing")
    message.field.add(name="type", json_name="type", number=1)
    message.field.add(name="new", json_name="new", number=2)
    message.field.add(name="is_new", json_name="isNew", number=3)
    assert sorted(_collisions(bad)) == [
        "bad.proto: Thing.new is a keyword in C++",
        "bad.proto: Thing.new is a keyword in Java",
        "bad.proto: Thing.new is a keyword in TypeScript",
        "bad.proto: Thing.type is a keyword in Go",
        "bad.proto: Thing.type is a keyword in Python",
        "bad.proto: Thing.type is a keyword in TypeScript",
    ]


def test_every_file_names_its_package_for_each_language() -> None:
    expected = {
        "go_package": "github.com/latchwork/latchwork/clients/go/latchworkv1;latchworkv1",
        "java_package": "io.latchwork.v1",
        "java_multiple_files": True,
        "csharp_namespace": "Latchwork.V1",
        "php_namespace": "Latchwork\\V1",
        "ruby_package": "Latchwork::V1",
        "objc_class_prefix": "LWX",
    }
    for proto in map(_file_proto, FILES):
        options = proto.options
        assert proto.package == "latchwork.v1"
        for option, value in expected.items():
            assert getattr(options, option) == value, f"{proto.name}: {option}"
        stem = proto.name.rsplit("/", 1)[-1].removesuffix(".proto")
        assert options.java_outer_classname == stem.capitalize() + "Proto", proto.name


def test_enums_start_with_unspecified_and_values_carry_the_enum_prefix() -> None:
    for proto in map(_file_proto, FILES):
        enums = list(proto.enum_type) + [e for m in proto.message_type for e in m.enum_type]
        for e in enums:
            prefix = re.sub(r"(?<!^)(?=[A-Z])", "_", e.name).upper() + "_"
            assert e.value[0].name == prefix + "UNSPECIFIED" and e.value[0].number == 0
            assert all(v.name.startswith(prefix) for v in e.value), e.name
