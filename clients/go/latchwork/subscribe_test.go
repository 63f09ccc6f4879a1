package latchwork_test

import (
	"context"
	"errors"
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

// scriptedSupervisor answers each Subscribe call with the next script: items to send, then
// the error to end the stream with. It records the requests it was sent.
type scriptedSupervisor struct {
	v1.UnimplementedSupervisorServiceServer
	mu       sync.Mutex
	scripts  []script
	requests []*v1.SubscribeRequest
}

type script struct {
	items []*v1.SubscribeResponse
	end   error
}

func (s *scriptedSupervisor) Subscribe(
	request *v1.SubscribeRequest, stream grpc.ServerStreamingServer[v1.SubscribeResponse],
) error {
	s.mu.Lock()
	s.requests = append(s.requests, request)
	if len(s.scripts) == 0 {
		s.mu.Unlock()
		<-stream.Context().Done()
		return nil
	}
	next := s.scripts[0]
	s.scripts = s.scripts[1:]
	s.mu.Unlock()
	for _, item := range next.items {
		if err := stream.Send(item); err != nil {
			return err
		}
	}
	return next.end
}

func event(seq int64) *v1.SubscribeResponse {
	return &v1.SubscribeResponse{Item: &v1.SubscribeResponse_Event{Event: &v1.Event{Seq: seq}}}
}

func heartbeat(head int64) *v1.SubscribeResponse {
	return &v1.SubscribeResponse{Item: &v1.SubscribeResponse_Heartbeat{Heartbeat: &v1.Heartbeat{HeadSeq: head}}}
}

// serve runs the fake on a real loopback socket and dials it with the wrapper.
func serve(t *testing.T, fake *scriptedSupervisor) *latchwork.Client {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	server := grpc.NewServer()
	v1.RegisterSupervisorServiceServer(server, fake)
	go func() { _ = server.Serve(listener) }()
	t.Cleanup(server.Stop)
	client, err := latchwork.Dial(latchwork.Options{Address: listener.Addr().String(), User: "tester"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

func seqs(t *testing.T, sub *latchwork.Subscription, n int) []int64 {
	t.Helper()
	var got []int64
	for len(got) < n {
		item, err := sub.Recv()
		if err != nil {
			t.Fatalf("after %v: %v", got, err)
		}
		if e := item.GetEvent(); e != nil {
			got = append(got, e.GetSeq())
		}
	}
	return got
}

func TestResumesAfterTheLastSeqWithoutDuplicates(t *testing.T) {
	fake := &scriptedSupervisor{scripts: []script{
		{items: []*v1.SubscribeResponse{event(5), event(6)}, end: status.Error(codes.Unavailable, "restarting")},
		{items: []*v1.SubscribeResponse{event(6), event(7)}, end: status.Error(codes.Unavailable, "again")},
		{items: []*v1.SubscribeResponse{heartbeat(9)}, end: status.Error(codes.Unavailable, "and again")},
		{items: []*v1.SubscribeResponse{event(10)}},
	}}
	client := serve(t, fake)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub := latchwork.Subscribe(ctx, client.Supervisor, &v1.SubscribeRequest{
		AfterSeq: 4, Labels: []string{"render"}, Snapshot: false,
	})
	var resumed []int64
	sub.Resumed = func(afterSeq int64, _ error) { resumed = append(resumed, afterSeq) }

	if got := seqs(t, sub, 4); !slices.Equal(got, []int64{5, 6, 7, 10}) {
		t.Fatalf("events %v, want [5 6 7 10]", got)
	}
	if !slices.Equal(resumed, []int64{6, 7, 9}) {
		t.Fatalf("resumed after %v, want [6 7 9]", resumed)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	var afters []int64
	for _, r := range fake.requests {
		afters = append(afters, r.GetAfterSeq())
		if len(r.GetLabels()) != 1 || r.GetLabels()[0] != "render" {
			t.Errorf("a resumed call lost the filters: %v", r)
		}
	}
	if !slices.Equal(afters, []int64{4, 6, 7, 9}) {
		t.Fatalf("after_seq per call %v, want [4 6 7 9]", afters)
	}
}

func TestSnapshotIsNotRepeatedOnResume(t *testing.T) {
	end := &v1.SubscribeResponse{Item: &v1.SubscribeResponse_SnapshotEnd{SnapshotEnd: &v1.SnapshotEnd{Seq: 20}}}
	job := &v1.SubscribeResponse{Item: &v1.SubscribeResponse_SnapshotJob{SnapshotJob: &v1.Job{Id: 3}}}
	fake := &scriptedSupervisor{scripts: []script{
		{items: []*v1.SubscribeResponse{job, end}, end: status.Error(codes.Unavailable, "gone")},
		{items: []*v1.SubscribeResponse{event(21)}},
	}}
	client := serve(t, fake)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub := latchwork.Subscribe(ctx, client.Supervisor, &v1.SubscribeRequest{Snapshot: true})
	for i := 0; i < 2; i++ {
		if _, err := sub.Recv(); err != nil {
			t.Fatal(err)
		}
	}
	if got := seqs(t, sub, 1); got[0] != 21 {
		t.Fatalf("got %v", got)
	}
	fake.mu.Lock()
	defer fake.mu.Unlock()
	second := fake.requests[1]
	if second.GetSnapshot() || second.GetAfterSeq() != 20 {
		t.Fatalf("resume request %v, want after_seq 20 without snapshot", second)
	}
}

func TestOutOfRangeIsAGapError(t *testing.T) {
	fake := &scriptedSupervisor{scripts: []script{
		{items: []*v1.SubscribeResponse{event(8)}, end: status.Error(codes.Unavailable, "restarting")},
		{end: status.Error(codes.OutOfRange, "events after seq 8 are no longer retained; the oldest is 50")},
	}}
	client := serve(t, fake)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	sub := latchwork.Subscribe(ctx, client.Supervisor, &v1.SubscribeRequest{AfterSeq: 7})
	seqs(t, sub, 1)
	_, err := sub.Recv()
	var gap *latchwork.GapError
	if !errors.As(err, &gap) || gap.AfterSeq != 8 {
		t.Fatalf("got %v, want a GapError after seq 8", err)
	}
}

func TestAnUnreachableSupervisorFailsAtOnce(t *testing.T) {
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	address := listener.Addr().String()
	_ = listener.Close() // nothing listens there now
	client, err := latchwork.Dial(latchwork.Options{Address: address})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	// Waiting for the supervisor would end in DeadlineExceeded instead.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = latchwork.Subscribe(ctx, client.Supervisor, &v1.SubscribeRequest{}).Recv()
	if status.Code(err) != codes.Unavailable {
		t.Fatalf("got %v, want UNAVAILABLE at once", err)
	}
}

// The resumable codes are the ones docs/subscribe.md lists for every language: UNKNOWN is how
// some stacks (tonic, for one) report a broken HTTP/2 stream, so it resumes too; a verdict on
// the request, or the supervisor's own INTERNAL, is returned.
func TestResumesOnUnknownButNotOnAVerdict(t *testing.T) {
	for _, tc := range []struct {
		end     error
		resumes bool
	}{
		{status.Error(codes.Unknown, "h2 protocol error: error reading a body from connection"), true},
		{status.Error(codes.Canceled, "the server shut down"), true},
		{status.Error(codes.Internal, "the supervisor failed unexpectedly (reference 3f9c)"), false},
		{status.Error(codes.PermissionDenied, "not yours"), false},
	} {
		fake := &scriptedSupervisor{scripts: []script{
			{items: []*v1.SubscribeResponse{event(3)}, end: tc.end},
			{items: []*v1.SubscribeResponse{event(4)}},
		}}
		client := serve(t, fake)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		sub := latchwork.Subscribe(ctx, client.Supervisor, &v1.SubscribeRequest{AfterSeq: 2})
		seqs(t, sub, 1)
		item, err := sub.Recv()
		cancel()
		if tc.resumes && (err != nil || item.GetEvent().GetSeq() != 4) {
			t.Errorf("after %v: got %v, %v; want event 4 from a resumed stream", tc.end, item, err)
		}
		if !tc.resumes && status.Code(err) != status.Code(tc.end) {
			t.Errorf("after %v: got %v, %v; want the error itself", tc.end, item, err)
		}
	}
}
