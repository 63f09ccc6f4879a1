package latchwork

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	"github.com/latchwork/latchwork/clients/go/latchworkv1"
)

// GapError means the events after AfterSeq are no longer retained by the supervisor
// (OUT_OF_RANGE): resuming would skip events, so the subscription stops instead. Re-list
// with a snapshot to start over.
type GapError struct {
	AfterSeq int64
	Message  string
}

func (e *GapError) Error() string {
	return fmt.Sprintf("latchwork: events after seq %d are gone: %s", e.AfterSeq, e.Message)
}

// Subscription is a Subscribe stream that survives lost connections and supervisor
// restarts: it remembers the last position it saw (an event's seq or a heartbeat's
// head_seq) and calls Subscribe again from there, so the caller sees every matching event
// once, in order, or a *GapError.
type Subscription struct {
	// Resumed, when set, is told each time the stream is reopened and why.
	Resumed func(afterSeq int64, cause error)

	ctx      context.Context
	client   latchworkv1.SupervisorServiceClient
	request  *latchworkv1.SubscribeRequest
	stream   grpc.ServerStreamingClient[latchworkv1.SubscribeResponse]
	position int64
	known    bool
	backoff  time.Duration
	// received: the supervisor has answered once. Until then a refused connection is a
	// wrong address or a supervisor that is down, reported at once rather than retried.
	received bool
}

const (
	firstBackoff = 50 * time.Millisecond
	maxBackoff   = 2 * time.Second
)

// Subscribe starts a resuming subscription; the first call happens on the first Recv.
// With Snapshot set, the snapshot is sent once: a resume continues with events after the
// last position.
func Subscribe(
	ctx context.Context, client latchworkv1.SupervisorServiceClient, request *latchworkv1.SubscribeRequest,
) *Subscription {
	s := &Subscription{ctx: ctx, client: client, request: proto.Clone(request).(*latchworkv1.SubscribeRequest)}
	if request.GetAfterSeq() > 0 && !request.GetSnapshot() {
		s.position, s.known = request.GetAfterSeq(), true
	}
	return s
}

// Position is the seq up to which everything matching has been delivered (0 before the
// stream said where it is).
func (s *Subscription) Position() int64 { return s.position }

// Recv returns the next item (event, heartbeat, snapshot job or snapshot end). It blocks
// across reconnections; it returns an error only for a gap, the context ending, or a
// failure that retrying cannot fix (a rejected request, a refused token).
func (s *Subscription) Recv() (*latchworkv1.SubscribeResponse, error) {
	for {
		if s.stream == nil {
			if err := s.open(); err != nil {
				if s.received && s.retryable(err) {
					if err := s.wait(err); err != nil {
						return nil, err
					}
					continue
				}
				return nil, s.classify(err)
			}
		}
		item, err := s.stream.Recv()
		if err != nil {
			s.stream = nil
			if s.received && s.retryable(err) {
				if err := s.wait(err); err != nil {
					return nil, err
				}
				continue
			}
			return nil, s.classify(err)
		}
		s.backoff, s.received = 0, true
		if s.advance(item) {
			return item, nil
		}
	}
}

func (s *Subscription) open() error {
	request := proto.Clone(s.request).(*latchworkv1.SubscribeRequest)
	if s.known {
		request.AfterSeq, request.Snapshot = s.position, false
	}
	stream, err := s.client.Subscribe(s.ctx, request, grpc.WaitForReady(s.received))
	if err != nil {
		return err
	}
	s.stream = stream
	return nil
}

// advance moves the position and says whether the item is new to the caller: an event at
// or before the position was already delivered by an earlier stream.
func (s *Subscription) advance(item *latchworkv1.SubscribeResponse) bool {
	switch x := item.GetItem().(type) {
	case *latchworkv1.SubscribeResponse_Event:
		if s.known && x.Event.GetSeq() <= s.position {
			return false
		}
		s.position, s.known = x.Event.GetSeq(), true
	case *latchworkv1.SubscribeResponse_Heartbeat:
		if !s.known || x.Heartbeat.GetHeadSeq() > s.position {
			s.position, s.known = x.Heartbeat.GetHeadSeq(), true
		}
	case *latchworkv1.SubscribeResponse_SnapshotEnd:
		s.position, s.known = x.SnapshotEnd.GetSeq(), true
	}
	return true
}

// wait sleeps before the next attempt (doubling up to maxBackoff) unless the context ends.
func (s *Subscription) wait(cause error) error {
	if s.ctx.Err() != nil {
		return s.ctx.Err()
	}
	if s.backoff == 0 {
		s.backoff = firstBackoff
	} else {
		s.backoff = min(2*s.backoff, maxBackoff)
	}
	if s.Resumed != nil {
		s.Resumed(s.position, cause)
	}
	timer := time.NewTimer(s.backoff)
	defer timer.Stop()
	select {
	case <-s.ctx.Done():
		return s.ctx.Err()
	case <-timer.C:
		return nil
	}
}

func (s *Subscription) classify(err error) error {
	if status.Code(err) == codes.OutOfRange {
		return &GapError{AfterSeq: s.position, Message: status.Convert(err).Message()}
	}
	return err
}

// retryable: the connection or the server went away (a restart, a shutdown, a proxy cut),
// not a verdict on the request (docs/subscribe.md, "Resuming, from any language"). The
// supervisor never ends a stream by itself, so a clean end of stream means the same; it never
// sends UNKNOWN either, so UNKNOWN is the transport's (other stacks report a broken HTTP/2
// stream that way); CANCELLED counts only when the caller did not cancel.
func (s *Subscription) retryable(err error) bool {
	if s.ctx.Err() != nil {
		return false
	}
	if errors.Is(err, io.EOF) {
		return true
	}
	switch status.Code(err) {
	case codes.Unavailable, codes.Canceled, codes.Unknown:
		return true
	}
	return false
}
