package latchwork

// Several supervisors share one store and only the leader listens: a standby refuses
// connections until it takes over. A client given several addresses therefore talks to one at a
// time and, when a call fails with UNAVAILABLE, moves on to the next (cycling). Calls that are
// safe to repeat are retried there; AddCallbacks is not (it would add twice).

import (
	"context"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// retryFor bounds how long one safe call without a deadline keeps cycling through the addresses.
const retryFor = 30 * time.Second

// repeatable are the calls whose effect is the same when sent twice: the reads, Submit (it
// carries a request id) and the controls. AddCallbacks and the worker service are not retried.
var repeatable = map[string]bool{}

func init() {
	for _, name := range []string{
		"GetJob", "ListJobs", "ExplainJob", "SummarizeFarm", "ValidateTrigger", "GetWorkOutput",
		"ListHosts", "GetHost", "ListCallbackRuns", "Submit", "ControlJobs", "ControlHosts",
		"ModifyJobs",
	} {
		repeatable["/latchwork.v1.SupervisorService/"+name] = true
	}
}

// SplitAddresses reads "host:port,host:port": the addresses in order, blanks dropped.
func SplitAddresses(list string) []string {
	var addresses []string
	for _, address := range strings.Split(list, ",") {
		if address = strings.TrimSpace(address); address != "" {
			addresses = append(addresses, address)
		}
	}
	return addresses
}

// failover is a grpc.ClientConnInterface over one connection per address, using the current
// one. With several addresses no call waits for an address to come back: it fails over instead.
type failover struct {
	conns   []*grpc.ClientConn
	mu      sync.Mutex
	current int
}

// pick returns the current address's index and connection.
func (f *failover) pick() (int, *grpc.ClientConn) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.current, f.conns[f.current]
}

// failed moves on from address i after an UNAVAILABLE; a second failure of the same address
// (a concurrent call) does not skip its successor.
func (f *failover) failed(i int, err error) {
	if status.Code(err) != codes.Unavailable {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.current == i {
		f.current = (i + 1) % len(f.conns)
	}
}

func (f *failover) Invoke(ctx context.Context, method string, args, reply any, opts ...grpc.CallOption) error {
	opts = append(opts, grpc.WaitForReady(false))
	giveUp := time.Now().Add(retryFor)
	if deadline, ok := ctx.Deadline(); ok {
		giveUp = deadline
	}
	delay := firstBackoff
	for {
		var err error
		for range f.conns { // a cycle: each address once
			i, conn := f.pick()
			err = conn.Invoke(ctx, method, args, reply, opts...)
			f.failed(i, err)
			if status.Code(err) != codes.Unavailable || !repeatable[method] || ctx.Err() != nil {
				return err
			}
		}
		if time.Now().Add(delay).After(giveUp) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(delay):
		}
		delay = min(2*delay, maxBackoff)
	}
}

// NewStream opens the stream on the current address, moving on (each address once) while the
// address cannot be reached; the stream moves the client on when it breaks with UNAVAILABLE.
func (f *failover) NewStream(
	ctx context.Context, desc *grpc.StreamDesc, method string, opts ...grpc.CallOption,
) (grpc.ClientStream, error) {
	opts = append(opts, grpc.WaitForReady(false))
	var err error
	for range f.conns {
		i, conn := f.pick()
		var stream grpc.ClientStream
		stream, err = conn.NewStream(ctx, desc, method, opts...)
		f.failed(i, err)
		if err == nil {
			return &watchedStream{ClientStream: stream, onError: func(err error) { f.failed(i, err) }}, nil
		}
		if status.Code(err) != codes.Unavailable || ctx.Err() != nil {
			return nil, err
		}
	}
	return nil, err
}

func (f *failover) Close() error {
	var first error
	for _, conn := range f.conns {
		if err := conn.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// watchedStream tells the failover about the error that ends a stream.
type watchedStream struct {
	grpc.ClientStream
	onError func(error)
}

func (s *watchedStream) RecvMsg(m any) error {
	err := s.ClientStream.RecvMsg(m)
	if err != nil {
		s.onError(err)
	}
	return err
}
