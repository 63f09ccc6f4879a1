// The protoc plugins that generate ../latchworkv1, pinned. A module of its own so that a
// program importing the client does not inherit the code generators in its dependency graph.
module github.com/latchwork/latchwork/clients/go/tools

go 1.25.0

tool (
	google.golang.org/grpc/cmd/protoc-gen-go-grpc
	google.golang.org/protobuf/cmd/protoc-gen-go
)

require (
	google.golang.org/grpc/cmd/protoc-gen-go-grpc v1.6.2 // indirect
	google.golang.org/protobuf v1.36.12 // indirect
)
