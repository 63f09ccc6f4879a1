// Package latchwork is a thin, idiomatic layer over the generated gRPC stubs in
// latchworkv1: a connection that carries the caller's identity on every call, and a
// Subscribe that resumes by itself after a lost connection.
//
// Everything else (requests, responses, enums) is the generated code, used directly.
package latchwork

import (
	"context"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/backoff"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/metadata"

	"github.com/latchwork/latchwork/clients/go/latchworkv1"
)

// DefaultAddress is where a supervisor listens when LATCHWORK_ADDRESS is not set.
const DefaultAddress = "localhost:50051"

// Options say where the supervisor is and who is calling. Empty fields fall back to the
// environment the other Latchwork clients read, so one shell setup serves every language.
type Options struct {
	// Address is host:port, or several comma-separated for supervisors of which one leads
	// (LATCHWORK_ADDRESS, then DefaultAddress): calls go to one address at a time and move to the
	// next when it is UNAVAILABLE, retrying the calls that are safe to repeat (failover.go).
	Address string
	// User is sent as the latchwork-user metadata; a supervisor without tokens trusts it
	// (LATCHWORK_USER, then USER, then "example").
	User string
	// Token is sent as "authorization: Bearer <token>"; with tokens the token decides the
	// user (LATCHWORK_TOKEN).
	Token string
	// TLSCA is a PEM file of the CA that signed the supervisor's certificate; empty means
	// plaintext (LATCHWORK_TLS_CA).
	TLSCA string
}

// Client is an open connection with both services' stubs.
type Client struct {
	// Conn carries the calls: the connection itself for one address, the failover over one
	// connection per address for several.
	Conn       grpc.ClientConnInterface
	Supervisor latchworkv1.SupervisorServiceClient
	Worker     latchworkv1.WorkerServiceClient
	close      func() error
}

// Dial opens a connection (lazily, as grpc.NewClient does) with the identity metadata
// attached to every unary and streaming call; one connection per address when Address lists
// several.
func Dial(opts Options) (*Client, error) {
	opts = opts.withEnvironment()
	creds := insecure.NewCredentials()
	if opts.TLSCA != "" {
		tlsCreds, err := credentials.NewClientTLSFromFile(opts.TLSCA, "")
		if err != nil {
			return nil, fmt.Errorf("latchwork: TLS CA %s: %w", opts.TLSCA, err)
		}
		creds = tlsCreds
	}
	pairs := []string{"latchwork-user", opts.User}
	if opts.Token != "" {
		pairs = append(pairs, "authorization", "Bearer "+opts.Token)
	}
	addresses := SplitAddresses(opts.Address)
	if len(addresses) == 0 {
		return nil, fmt.Errorf("latchwork: no address in %q", opts.Address)
	}
	conns := make([]*grpc.ClientConn, 0, len(addresses))
	for _, address := range addresses {
		conn, err := open(address, creds, pairs)
		if err != nil {
			for _, opened := range conns {
				_ = opened.Close()
			}
			return nil, err
		}
		conns = append(conns, conn)
	}
	if len(conns) == 1 {
		return newClient(conns[0], conns[0].Close), nil
	}
	calls := &failover{conns: conns}
	return newClient(calls, calls.Close), nil
}

func newClient(conn grpc.ClientConnInterface, close func() error) *Client {
	return &Client{
		Conn:       conn,
		Supervisor: latchworkv1.NewSupervisorServiceClient(conn),
		Worker:     latchworkv1.NewWorkerServiceClient(conn),
		close:      close,
	}
}

// open makes one address's connection (lazily, as grpc.NewClient does).
func open(address string, creds credentials.TransportCredentials, pairs []string) (*grpc.ClientConn, error) {
	conn, err := grpc.NewClient(
		address,
		grpc.WithTransportCredentials(creds),
		grpc.WithChainUnaryInterceptor(unaryIdentity(pairs)),
		grpc.WithChainStreamInterceptor(streamIdentity(pairs)),
		// gRPC backs off up to two minutes between reconnect attempts by default; a supervisor
		// restart takes about a second, so keep the waits short (as the other clients do).
		grpc.WithConnectParams(grpc.ConnectParams{
			Backoff: backoff.Config{
				BaseDelay: 200 * time.Millisecond, Multiplier: 1.6, Jitter: 0.2, MaxDelay: 2 * time.Second,
			},
			MinConnectTimeout: 5 * time.Second,
		}),
		// A leader that hangs with its connections open (stopped, frozen) answers nothing and
		// closes nothing: while a call is in flight, ping after 10 s without a frame, and close
		// the connection when a ping goes unanswered for 5 s, so the call fails Unavailable and
		// the client moves to its next address (as the Python client does; the supervisor
		// accepts these pings).
		grpc.WithKeepaliveParams(keepalive.ClientParameters{
			Time: 10 * time.Second, Timeout: 5 * time.Second, PermitWithoutStream: false,
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("latchwork: %s: %w", address, err)
	}
	return conn, nil
}

// Close releases the connections.
func (c *Client) Close() error { return c.close() }

func (o Options) withEnvironment() Options {
	o.Address = firstSet(o.Address, os.Getenv("LATCHWORK_ADDRESS"), DefaultAddress)
	o.User = firstSet(o.User, os.Getenv("LATCHWORK_USER"), os.Getenv("USER"), "example")
	o.Token = firstSet(o.Token, os.Getenv("LATCHWORK_TOKEN"))
	o.TLSCA = firstSet(o.TLSCA, os.Getenv("LATCHWORK_TLS_CA"))
	return o
}

func firstSet(values ...string) string {
	for _, v := range values {
		if v != "" {
			return v
		}
	}
	return ""
}

func unaryIdentity(pairs []string) grpc.UnaryClientInterceptor {
	return func(ctx context.Context, method string, req, reply any, cc *grpc.ClientConn,
		invoker grpc.UnaryInvoker, opts ...grpc.CallOption,
	) error {
		return invoker(metadata.AppendToOutgoingContext(ctx, pairs...), method, req, reply, cc, opts...)
	}
}

func streamIdentity(pairs []string) grpc.StreamClientInterceptor {
	return func(ctx context.Context, desc *grpc.StreamDesc, cc *grpc.ClientConn, method string,
		streamer grpc.Streamer, opts ...grpc.CallOption,
	) (grpc.ClientStream, error) {
		return streamer(metadata.AppendToOutgoingContext(ctx, pairs...), desc, cc, method, opts...)
	}
}
