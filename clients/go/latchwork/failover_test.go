package latchwork_test

import (
	"context"
	"net"
	"slices"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/latchwork/latchwork/clients/go/latchwork"
	v1 "github.com/latchwork/latchwork/clients/go/latchworkv1"
)

// countingSupervisor answers GetJob and AddCallbacks, counting them, and streams the given
// events on Subscribe, then holds the stream open.
type countingSupervisor struct {
	v1.UnimplementedSupervisorServiceServer
	mu       sync.Mutex
	calls    []string
	events   []int64
	requests []*v1.SubscribeRequest
}

func (s *countingSupervisor) record(call string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = append(s.calls, call)
}

func (s *countingSupervisor) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *countingSupervisor) GetJob(_ context.Context, r *v1.GetJobRequest) (*v1.GetJobResponse, error) {
	s.record("GetJob")
	return &v1.GetJobResponse{Job: &v1.Job{Id: r.GetJobId()}}, nil
}

func (s *countingSupervisor) AddCallbacks(context.Context, *v1.AddCallbacksRequest) (*v1.AddCallbacksResponse, error) {
	s.record("AddCallbacks")
	return &v1.AddCallbacksResponse{}, nil
}

func (s *countingSupervisor) Subscribe(
	request *v1.SubscribeRequest, stream grpc.ServerStreamingServer[v1.SubscribeResponse],
) error {
	s.mu.Lock()
	s.requests = append(s.requests, request)
	s.mu.Unlock()
	for _, seq := range s.events {
		if err := stream.Send(event(seq)); err != nil {
			return err
		}
	}
	<-stream.Context().Done()
	return nil
}

// listen serves the fake on a loopback port; the returned stop ends it (and its streams).
func listen(t *testing.T, fake *countingSupervisor) (string, func()) {
	t.Helper()
	return listenOn(t, "127.0.0.1:0", fake)
}

func listenOn(t *testing.T, address string, fake *countingSupervisor) (string, func()) {
	t.Helper()
	listener, err := net.Listen("tcp", address)
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	v1.RegisterSupervisorServiceServer(server, fake)
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)
	return listener.Addr().String(), server.Stop
}

// nowhere is an address nothing listens on.
func nowhere(t *testing.T) string {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := listener.Addr().String()
	_ = listener.Close()
	return address
}

func dialAll(t *testing.T, addresses ...string) *latchwork.Client {
	t.Helper()
	list := ""
	for i, address := range addresses {
		if i > 0 {
			list += ", "
		}
		list += address
	}
	client, err := latchwork.Dial(latchwork.Options{Address: list, User: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func TestSplitAddresses(t *testing.T) {
	got := latchwork.SplitAddresses(" a:1, b:2,,c:3 ")
	if !slices.Equal(got, []string{"a:1", "b:2", "c:3"}) {
		t.Fatalf("got %v", got)
	}
	if _, err := latchwork.Dial(latchwork.Options{Address: " , "}); err == nil {
		t.Fatal("an address list without an address was accepted")
	}
}

func TestASafeCallMovesOnToTheNextAddressAndStaysThere(t *testing.T) {
	fake := &countingSupervisor{}
	live, _ := listen(t, fake)
	client := dialAll(t, nowhere(t), nowhere(t), live)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for id := int64(1); id <= 2; id++ {
		reply, err := client.Supervisor.GetJob(ctx, &v1.GetJobRequest{JobId: id})
		if err != nil || reply.GetJob().GetId() != id {
			t.Fatalf("GetJob(%d): %v, %v", id, reply, err)
		}
	}
	if got := fake.seen(); !slices.Equal(got, []string{"GetJob", "GetJob"}) {
		t.Fatalf("the live supervisor saw %v", got)
	}
}

func TestAddCallbacksIsNotRetriedButTheNextCallMovesOn(t *testing.T) {
	fake := &countingSupervisor{}
	live, _ := listen(t, fake)
	client := dialAll(t, nowhere(t), live)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := client.Supervisor.AddCallbacks(ctx, &v1.AddCallbacksRequest{})
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("got %v, want the first address's UNAVAILABLE", err)
	}
	if got := fake.seen(); len(got) != 0 {
		t.Fatalf("AddCallbacks was sent again: %v", got)
	}
	if _, err := client.Supervisor.AddCallbacks(ctx, &v1.AddCallbacksRequest{}); err != nil {
		t.Fatal(err)
	}
	if got := fake.seen(); !slices.Equal(got, []string{"AddCallbacks"}) {
		t.Fatalf("the live supervisor saw %v", got)
	}
}

func TestSubscribeResumesOnTheNextAddressAfterTheLastSeq(t *testing.T) {
	first := &countingSupervisor{events: []int64{5, 6}}
	second := &countingSupervisor{events: []int64{6, 7}}
	addressA, stopA := listen(t, first)
	addressB, _ := listen(t, second)
	client := dialAll(t, addressA, addressB)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub := latchwork.Subscribe(ctx, client.Supervisor, &v1.SubscribeRequest{AfterSeq: 4, Pgrps: []int64{9}})
	got := seqs(t, sub, 2)
	stopA() // the leader goes away mid-stream; B answers now
	got = append(got, seqs(t, sub, 1)...)
	if !slices.Equal(got, []int64{5, 6, 7}) {
		t.Fatalf("events %v, want [5 6 7]", got)
	}
	second.mu.Lock()
	defer second.mu.Unlock()
	if len(second.requests) != 1 || second.requests[0].GetAfterSeq() != 6 ||
		!slices.Equal(second.requests[0].GetPgrps(), []int64{9}) {
		t.Fatalf("B was asked %v, want after_seq 6 with the same filters", second.requests)
	}
}

func TestAFirstSubscribeTriesEachAddressOnce(t *testing.T) {
	fake := &countingSupervisor{events: []int64{3}}
	live, _ := listen(t, fake)
	client := dialAll(t, nowhere(t), live)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	sub := latchwork.Subscribe(ctx, client.Supervisor, &v1.SubscribeRequest{AfterSeq: 2})
	if got := seqs(t, sub, 1); got[0] != 3 {
		t.Fatalf("got %v", got)
	}

	unreachable := dialAll(t, nowhere(t), nowhere(t))
	_, err := latchwork.Subscribe(ctx, unreachable.Supervisor, &v1.SubscribeRequest{}).Recv()
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("got %v, want UNAVAILABLE once every address was tried", err)
	}
}

func TestARepeatableCallGoesRoundUntilASupervisorAnswers(t *testing.T) {
	later := nowhere(t)
	client := dialAll(t, nowhere(t), later)
	ctx, cancel := context.WithTimeout(context.Background(), 25*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		_, err := client.Supervisor.GetJob(ctx, &v1.GetJobRequest{JobId: 1})
		done <- err
	}()
	time.Sleep(300 * time.Millisecond) // the call is going round both addresses by now
	fake := &countingSupervisor{}
	listenOn(t, later, fake) // a standby takes over on the second address
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := fake.seen(); !slices.Equal(got, []string{"GetJob"}) {
		t.Fatalf("the new leader saw %v", got)
	}
}
