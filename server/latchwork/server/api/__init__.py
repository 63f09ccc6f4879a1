"""The gRPC adapters: the only part of the supervisor that knows protobuf and gRPC types."""
